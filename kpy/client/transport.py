"""How kpy's client reaches a broker: a Kafka connection over a socket, or the broker's own
request path in the same process.

A transport sends one generated request at a given version and returns the decoded response;
it knows the version ranges the broker announced in ApiVersions, so ``Client`` can pick the
newest version both sides speak. ``SocketTransport`` is a real Kafka connection (one request
in flight at a time, as most clients do on a control connection). ``LocalTransport`` hands
the encoded frame to ``kpy.dispatch`` inside the broker's process, so the console asks the
broker exactly what a client would ask, through the same handlers, without a socket.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, Protocol

import trio

from kpy.protocol import api_keys, framing
from kpy.protocol.messages.api_versions import ApiVersionsRequest
from kpy.protocol.primitives import FileRegion

if TYPE_CHECKING:
    from kpy.broker import Broker

API_VERSIONS = 18
SOFTWARE_NAME = "kpy"


class TransportClosed(Exception):
    """The broker closed the connection or could not be reached."""


class Transport(Protocol):
    versions: dict[int, tuple[int, int]]  # API key -> (min, max) the broker announced
    broken: str | None  # why the transport must not be used again; None while it may

    async def request(
        self, api_key: int, version: int, request: Any, *, expect_response: bool = True
    ) -> Any: ...

    async def aclose(self) -> None: ...


def _software_version() -> str:
    from kpy import __version__

    return __version__


def api_versions_request() -> Any:
    return ApiVersionsRequest(
        client_software_name=SOFTWARE_NAME, client_software_version=_software_version()
    )


def ranges_of(response: Any) -> dict[int, tuple[int, int]]:
    return {k.api_key: (k.min_version, k.max_version) for k in response.api_keys}


class SocketTransport:
    """One Kafka connection; ``connect`` opens it and negotiates versions (ApiVersions v3,
    falling back to v0 as KIP-511 describes when the broker answers UNSUPPORTED_VERSION),
    both within ``timeout`` seconds."""

    def __init__(self, stream: trio.SocketStream, client_id: str) -> None:
        self.stream = stream
        self.client_id = client_id
        self.versions: dict[int, tuple[int, int]] = {}
        self.api_versions: Any = None
        self._correlation = 0
        self._pending = bytearray()
        self._lock = trio.Lock()
        # Why the connection is out of step (a request cut off between sending its frame and
        # reading its whole answer): the rest of that answer would be read as the next one's.
        self.broken: str | None = None

    @classmethod
    async def connect(
        cls, host: str, port: int, client_id: str, timeout: float = 10.0
    ) -> SocketTransport:
        try:
            with trio.fail_after(timeout):
                stream = await trio.open_tcp_stream(host, port)
        except (OSError, trio.TooSlowError) as exc:
            raise TransportClosed(f"cannot connect to {host}:{port}: {exc}") from exc
        transport = cls(stream, client_id)
        try:
            # Bounded too: a TLS listener or a port that is not Kafka's never answers.
            with trio.fail_after(timeout):
                answer = await transport.request(API_VERSIONS, 3, api_versions_request())
                if answer.error_code == 35:  # UNSUPPORTED_VERSION: the broker is older
                    answer = await transport.request(API_VERSIONS, 0, ApiVersionsRequest())
        except trio.TooSlowError as exc:
            await transport.aclose()
            raise TransportClosed(
                f"{host}:{port} did not answer ApiVersions within {timeout} s"
            ) from exc
        except BaseException:
            await transport.aclose()
            raise
        transport.api_versions = answer
        transport.versions = ranges_of(answer)
        return transport

    async def request(
        self, api_key: int, version: int, request: Any, *, expect_response: bool = True
    ) -> Any:
        async with self._lock:
            if self.broken is not None:
                raise TransportClosed(f"connection not reusable: {self.broken}")
            self._correlation += 1
            corr = self._correlation
            frame = framing.encode_request(api_key, version, corr, self.client_id, request)
            finished = False
            try:
                await self.stream.send_all(frame)
                if not expect_response:
                    finished = True
                    return None
                size = int.from_bytes(await self._receive(4), "big", signed=True)
                got, response = framing.decode_response(api_key, version, await self._receive(size))
                finished = True
            except (trio.BrokenResourceError, trio.ClosedResourceError, OSError) as exc:
                raise TransportClosed(f"connection lost: {exc}") from exc
            finally:
                if not finished:
                    self.broken = f"request {corr} (API key {api_key}) did not complete"
            if got != corr:
                self.broken = f"correlation id {got} answered request {corr}"
                raise TransportClosed(self.broken)
            return response

    async def _receive(self, n: int) -> bytes:
        while len(self._pending) < n:
            data = await self.stream.receive_some(max(n - len(self._pending), 65536))
            if not data:
                raise TransportClosed("connection closed by the broker")
            self._pending += data
        out = bytes(self._pending[:n])
        del self._pending[:n]
        return out

    async def aclose(self) -> None:
        await self.stream.aclose()


class LocalTransport:
    """The broker's request path in this process: frames go through ``kpy.dispatch`` as if a
    connection on ``listener`` had read them (same handlers, same checks, no socket)."""

    def __init__(self, broker: Broker, client_id: str, listener: str = "LOCAL") -> None:
        from kpy import dispatch

        self._dispatch = dispatch
        self.broker = broker
        self.client_id = client_id
        self.listener = listener
        self.versions = {key: (low, high) for key, low, high in dispatch.supported_versions()}
        self.broken: str | None = None  # no stream to fall out of step
        self._correlation = 0

    async def request(
        self, api_key: int, version: int, request: Any, *, expect_response: bool = True
    ) -> Any:
        self._correlation += 1
        # Writable, as a connection's read buffer is: Produce stamps offsets into the batch.
        frame = memoryview(
            bytearray(
                framing.encode_request(api_key, version, self._correlation, self.client_id, request)
            )
        )[4:]
        # Counted in the broker's metrics as any client's requests are (the README says so).
        chunks = await self._dispatch.dispatch(frame, self._make_ctx, self.broker.metrics)
        if chunks is None or not expect_response:
            return None
        data = b"".join(_materialize(c) for c in chunks)
        _corr, response = framing.decode_response(api_key, version, memoryview(data)[4:])
        return response

    def _make_ctx(self, key: int, version: int, corr: int, client_id: str | None) -> Any:
        return self._dispatch.RequestContext(
            broker=self.broker,
            api_key=key,
            api_version=version,
            correlation_id=corr,
            client_id=client_id,
            client_host="127.0.0.1",
            listener=self.listener,
            connection_id="local",
        )

    async def aclose(self) -> None:
        return None


def _materialize(chunk: Any) -> bytes:
    """Bytes of a response chunk; records straight from a segment file are read here."""
    if isinstance(chunk, FileRegion):
        return os.pread(chunk.fd, chunk.length, chunk.position)
    return bytes(chunk)


def newest_common(api_key: int, versions: dict[int, tuple[int, int]]) -> int | None:
    """The newest version of ``api_key`` both the broker (``versions``) and kpy's generated
    classes speak, or None when there is none."""
    info = api_keys.API_KEYS.get(api_key)
    span = versions.get(api_key)
    if info is None or span is None:
        return None
    high = min(span[1], info.schema_max)
    return high if high >= max(span[0], info.schema_min) else None
