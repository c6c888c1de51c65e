"""One client connection: size-prefixed frames in, responses out, one request at a time.

Kafka handles a connection's requests strictly in order and reads the next request only
after the previous response is queued (the "mute" model); kpy does the same, which also
gives per-connection backpressure: a client that never reads its responses stops being read.

Frames are read into a reusable buffer (readv into it); a frame too big for it is received
straight into its own buffer. Responses are lists of chunks: bytes-like chunks go out with
writev (gathered writes); FileRegion chunks (record batches straight from segment files) go
out with os.sendfile. The socket calls are made directly on the non-blocking descriptor and
wait for readiness only when the kernel has nothing to give, with a trio checkpoint at least
every millisecond for fairness; idle connections are closed by a reaper (see reap_idle), so a request
costs no timer of its own.

Every connection the broker closes leaves an INFO line saying who (address, client id), what
(the API and version of the refused request) and why; a client that is refused again and
again leaves a line per key and interval (kpy.log_limiter). Connections leave DEBUG lines.
Every request, Produce included, goes to dispatch; this module only frames bytes and
writes responses, and counts them: ``client_info()`` is what Broker.clients() shows of it.
"""

from __future__ import annotations

import errno
import itertools
import logging
import os
import re
import struct
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import trio

from kpy.clients import ClientInfo, ClientState
from kpy.dispatch import CloseConnection, RequestContext, dispatch
from kpy.log_limiter import LogLimiter
from kpy.protocol import api_keys, framing
from kpy.protocol.primitives import FileRegion
from kpy.protocol.produce_codec import is_produce

if TYPE_CHECKING:
    from kpy.broker import Broker

log = logging.getLogger("kpy.connection")
_closes = LogLimiter(log)  # why connections were closed, repeats held back
_NUMBERS = re.compile(r"\d+")
_HEAD_MAX = 1024  # bytes of a refused request kept to name it (its header, usually)

_SIZE = struct.Struct(">i")
_ids = itertools.count(1)


_BUFFER = 64 * 1024  # per connection at first
# A connection's buffer doubles, up to this, when a read fills it (the client sends faster than
# one frame per read: pipelined produce requests then arrive together and their responses go
# out in one write) or when a frame needs the room. Larger frames get a buffer of their own.
_SHARED_MAX = 1024 * 1024
_MAX_GATHER = 64  # iovecs per sendmsg call, well under IOV_MAX


class Connection:
    """Serves one accepted socket until the peer closes, misbehaves, or the broker stops."""

    def __init__(self, stream: trio.SocketStream, broker: Broker, listener: str) -> None:
        self.stream = stream
        self.sock = stream.socket
        self.broker = broker
        self.listener = listener
        self.id = f"conn-{next(_ids)}"
        try:
            peer = self.sock.getpeername()
            self.client_host = str(peer[0])
            self.peer = f"{peer[0]}:{peer[1]}"
        except OSError:
            self.client_host, self.peer = "unknown", "unknown"
        self.fd = self.sock.fileno()
        self._buf = bytearray(_BUFFER)
        self._start = 0  # unread data lives in _buf[_start:_end]
        self._end = 0
        self.requests = 0
        self.bytes_in = 0
        self.bytes_out = 0
        # Since when the connection waits for a request (None while one is handled).
        self.idle_since: float | None = time.monotonic()
        self._scope = trio.CancelScope()
        self._closed_idle = False
        self.client_id: str | None = None  # of the latest request that went through dispatch
        self.client = ClientState()  # the software it names in ApiVersions (set by dispatch)
        self.connected_at = time.time()
        self._refused: bytes | None = None  # the first bytes of a refused request

    def close_if_idle(self, now: float, idle_s: float) -> None:
        """Close the connection if it has waited for a request longer than ``idle_s``."""
        since = self.idle_since
        if since is not None and now - since > idle_s and not self._closed_idle:
            self._closed_idle = True
            self._scope.cancel()

    async def serve(self) -> None:
        max_request = self.broker.config.get("socket.request.max.bytes")
        metrics = self.broker.metrics
        # Responses to pipelined produce requests are held while the next produce request is
        # already complete in the buffer, then written together: requests are still handled
        # one at a time and answered in order, with one write for the lot.
        held: list[Any] = []
        yielded = time.monotonic()
        log.debug("%s accepted from %s on %s", self.id, self.peer, self.listener)
        try:
            with self._scope:
                while True:
                    if held and (len(held) >= _MAX_GATHER or not self._produce_buffered()):
                        await self._send_chunks(held)
                        held = []
                    frame = self._buffered_frame(max_request)
                    if frame is None:
                        self.idle_since = time.monotonic()
                        frame = await self._read_frame(max_request)
                        self.idle_since = None
                        if frame is None:
                            log.debug(
                                "%s closed by %s (client id %r) after %d requests", *self._who()
                            )
                            return
                    self.requests += 1
                    produce = is_produce(frame)
                    try:
                        chunks = await dispatch(frame, self._make_ctx, metrics)
                    except CloseConnection:
                        self._refused = bytes(frame[:_HEAD_MAX])
                        if held:
                            await self._send_chunks(held)
                        raise
                    if chunks is not None:
                        if produce and self._produce_buffered():
                            held.extend(chunks)
                        elif held:
                            held.extend(chunks)
                            await self._send_chunks(held)
                            held = []
                        else:
                            await self._send_chunks(chunks)
                    # The socket calls only yield when they would block: let other
                    # connections run at least every millisecond.
                    now = time.monotonic()
                    if now - yielded > 0.001:
                        await trio.lowlevel.checkpoint()
                        yielded = now
                    else:
                        await trio.lowlevel.checkpoint_if_cancelled()
            if self._closed_idle:
                idle_ms = self.broker.config.get("connections.max.idle.ms")
                _closes.log(
                    logging.INFO,
                    ("idle", self.client_host, self.client_id),
                    "%s closed the connection from %s (client id %r) after %d requests: idle "
                    "for longer than connections.max.idle.ms=%d",
                    *self._who(),
                    idle_ms,
                )
        except CloseConnection as exc:
            self._log_refusal(exc)
        except (trio.BrokenResourceError, trio.ClosedResourceError, ConnectionError) as exc:
            log.debug(
                "%s connection from %s (client id %r) lost after %d requests: %r", *self._who(), exc
            )
        except OSError as exc:
            if exc.errno not in (errno.ECONNRESET, errno.EPIPE, errno.ENOTCONN):
                _closes.log(
                    logging.WARNING,
                    ("socket", self.client_host, exc.errno),
                    "%s closed the connection from %s (client id %r) after %d requests: "
                    "socket error %s",
                    *self._who(),
                    exc,
                )
        except Exception as exc:
            # Nothing a client does may stop the broker: drop this connection only.
            _closes.log(
                logging.ERROR,
                ("unexpected", type(exc).__name__),
                "%s closed the connection from %s (client id %r) after %d requests: "
                "unexpected error",
                *self._who(),
                exc_info=True,
            )
        finally:
            with trio.CancelScope(shield=True):
                await self.stream.aclose()

    def _who(self) -> tuple[str, str, str | None, int]:
        return self.id, self.peer, self.client_id, self.requests

    def _log_refusal(self, exc: CloseConnection) -> None:
        """INFO: who was refused (address, client id), what (API, version), why."""
        what, client_id, corr = "a request", self.client_id, None
        if self._refused is not None:
            try:
                header, _ = framing.decode_request_header(self._refused)
            except Exception:
                pass  # too short or garbled: only the reason can be told
            else:
                info = api_keys.API_KEYS.get(header.request_api_key)
                name = info.name if info else f"API key {header.request_api_key}"
                what = f"a {name} v{header.request_api_version} request"
                client_id, corr = header.client_id, header.correlation_id
        reason = str(exc)
        _closes.log(
            logging.INFO,
            ("refused", self.client_host, client_id, what, _NUMBERS.sub("#", reason)),
            "%s closed the connection from %s (client id %r) on %s (correlation id %s): %s",
            self.id,
            self.peer,
            client_id,
            what,
            corr,
            reason,
        )

    def _make_ctx(self, key: int, version: int, corr: int, client_id: str | None) -> RequestContext:
        self.client_id = client_id
        return RequestContext(
            broker=self.broker,
            api_key=key,
            api_version=version,
            correlation_id=corr,
            client_id=client_id,
            client_host=self.client_host,
            listener=self.listener,
            connection_id=self.id,
            client=self.client,
        )

    def client_info(self) -> ClientInfo:
        """A snapshot of this connection for ``Broker.clients()``."""
        return ClientInfo(
            connection_id=self.id,
            address=self.peer,
            listener=self.listener,
            client_id=self.client_id,
            software_name=self.client.software_name,
            software_version=self.client.software_version,
            connected_at=self.connected_at,
            requests=self.requests,
            bytes_in=self.bytes_in,
            bytes_out=self.bytes_out,
        )

    async def _fill(self, need: int) -> bool:
        """Make at least ``need`` unread bytes available; False on a clean EOF."""
        while self._end - self._start < need:
            if self._start and (len(self._buf) - self._start < need):
                # Move the unread tail to the front so the buffer can be reused.
                pending = self._end - self._start
                self._buf[:pending] = self._buf[self._start : self._end]
                self._start, self._end = 0, pending
            if len(self._buf) - self._start < need:
                self._grow(need + self._start)
            with memoryview(self._buf) as view:
                n = await self._recv_into(view[self._end :])
            if n == 0:
                if self._end != self._start:
                    raise CloseConnection("connection closed in the middle of a frame")
                return False
            self._end += n
            self.bytes_in += n
            if self._end == len(self._buf) and len(self._buf) < _SHARED_MAX:
                self._grow(0)  # the read filled the buffer: more is probably waiting
        return True

    def _grow(self, need: int) -> None:
        grown = bytearray(max(need, min(2 * len(self._buf), _SHARED_MAX)))
        grown[: self._end] = self._buf[: self._end]
        self._buf = grown

    def _produce_buffered(self) -> bool:
        """Whether the buffer already holds a whole Produce request frame."""
        start, have = self._start, self._end - self._start
        if have < 6:
            return False
        buf = self._buf
        size = _SIZE.unpack_from(buf, start)[0]
        return 0 <= size <= have - 4 and is_produce(buf, start + 4)

    async def _recv_into(self, view: memoryview) -> int:
        while True:
            try:
                return os.readv(self.fd, [view])
            except BlockingIOError:
                await trio.lowlevel.wait_readable(self.sock)

    def _buffered_frame(self, max_request: int) -> memoryview | None:
        """The next request frame if the buffer already holds all of it (pipelined requests
        are taken without a trip through the socket calls), else None."""
        start, have = self._start, self._end - self._start
        if have < 4:
            return None
        size = _SIZE.unpack_from(self._buf, start)[0]
        if not 0 <= size <= max_request or size > have - 4:
            return None  # _read_frame reads the rest, or rejects the size
        return self._take(start + 4, size)

    def _take(self, start: int, size: int) -> memoryview:
        """The frame body at ``start`` in the shared buffer, consumed."""
        # mutation-point: frame-consumed
        self._start = start + size
        if self._start == self._end:
            self._start = self._end = 0
        if size >= 2 and is_produce(self._buf, start):
            # Produce is answered before the buffer is read into again and keeps no
            # reference to its records (bytes fields are always copied by the decoders),
            # so its batches are validated and written straight from the buffer.
            return memoryview(self._buf)[start : start + size]
        return memoryview(self._buf[start : start + size])  # a copy: the buffer is reused

    async def _read_frame(self, max_request: int) -> memoryview | None:
        """Next request frame as a writable view (produce rewrites batch offsets in place)."""
        if not await self._fill(4):
            return None
        size = _SIZE.unpack_from(self._buf, self._start)[0]
        # mutation-point: frame-size
        if size < 0 or size > max_request:
            # Whatever of the request's header has arrived names it in the log line.
            head = self._start + 4
            self._refused = bytes(self._buf[head : min(self._end, head + _HEAD_MAX)])
            raise CloseConnection(
                f"request size {size} exceeds socket.request.max.bytes={max_request}"
                if size > 0
                else f"invalid request size {size}"
            )
        if size + 4 <= _SHARED_MAX:
            # Through the shared buffer: one read usually brings the whole frame.
            if not await self._fill(size + 4):
                raise CloseConnection("connection closed in the middle of a frame")
            return self._take(self._start + 4, size)
        self._start += 4
        frame = bytearray(size)
        have = min(size, self._end - self._start)
        frame[:have] = self._buf[self._start : self._start + have]
        self._start += have
        if self._start == self._end:
            self._start = self._end = 0
        view = memoryview(frame)
        # A large body is received straight into its own buffer, skipping the shared one.
        while have < size:
            n = await self._recv_into(view[have:])
            if n == 0:
                raise CloseConnection("connection closed in the middle of a frame")
            have += n
            self.bytes_in += n
        return view

    async def _send_chunks(self, chunks: list[Any]) -> None:
        pending: list[Any] = []
        for chunk in chunks:
            if isinstance(chunk, FileRegion):
                if pending:
                    await self._sendmsg(pending)
                    pending = []
                await self._sendfile(chunk)
            elif len(chunk):
                pending.append(chunk)
        if pending:
            await self._sendmsg(pending)

    async def _sendmsg(self, buffers: list[Any]) -> None:
        sent = 0
        if len(buffers) <= _MAX_GATHER:
            # The kernel usually takes a whole response at once: then no views are needed.
            try:
                sent = os.writev(self.fd, buffers)
            except BlockingIOError:
                pass
            self.bytes_out += sent
            if sent == sum(map(len, buffers)):
                return
        views = [memoryview(b).cast("B") for b in buffers]
        while True:
            # Drop what was fully sent; keep the unsent tail of a partly sent buffer.
            while views and sent >= len(views[0]):
                sent -= len(views[0])
                views.pop(0)
            if not views:
                return
            if sent:
                views[0] = views[0][sent:]
            try:
                sent = os.writev(self.fd, views[:_MAX_GATHER])
            except BlockingIOError:
                sent = 0
                await trio.lowlevel.wait_writable(self.sock)
                continue
            self.bytes_out += sent

    async def _sendfile(self, region: FileRegion) -> None:
        offset, remaining = region.position, region.length
        fd = self.sock.fileno()
        while remaining > 0:
            await trio.lowlevel.checkpoint_if_cancelled()
            try:
                sent = os.sendfile(fd, region.fd, offset, remaining)
            except BlockingIOError:
                await trio.lowlevel.wait_writable(self.sock)
                continue
            if sent == 0:
                # The segment was truncated or deleted under us; the client will see a
                # short response and reconnect, as it would on a Kafka I/O error.
                raise CloseConnection("segment file shrank while being sent")
            offset += sent
            remaining -= sent
            self.bytes_out += sent


async def reap_idle(connections: Iterable[Connection], idle_ms: Any) -> None:
    """Close connections that wait for a request longer than ``connections.max.idle.ms``
    (read through ``idle_ms()`` each round, so a changed setting applies)."""
    while True:
        limit = idle_ms()
        await trio.sleep(min(max(limit / 4000, 0.05), 5.0) if limit > 0 else 5.0)
        if limit > 0:
            now = time.monotonic()
            for conn in list(connections):
                conn.close_if_idle(now, limit / 1000)
