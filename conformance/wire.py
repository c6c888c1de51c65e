"""A raw Kafka client built on kpy.protocol: exact requests, exact responses.

    with WireClient("localhost:9092") as c:
        resp = c.send(MetadataRequest(topics=None), version=12)

It speaks one request at a time on a blocking socket, which is all a check needs. Raw bytes
can be sent too (``send_raw``), to check how a broker treats malformed frames.

With ``KPY_WIRE_RECORD=FILE`` in the environment every client appends what it sends and
receives to FILE, one JSON object a line, tagged with the pytest test that sent it; the
differential harness (conformance/differential.py) replays these to two brokers.
"""

from __future__ import annotations

import itertools
import json
import os
import socket
import struct
import threading
from typing import Any

from kpy.protocol import api_keys, framing

_SIZE = struct.Struct(">i")
_RECORD_ENV = "KPY_WIRE_RECORD"
_record_lock = threading.Lock()
_connections = itertools.count()


def _record(conn: int, event: dict[str, Any]) -> None:
    """Append one event to $KPY_WIRE_RECORD (nothing if unset): test id, connection, event."""
    path = os.environ.get(_RECORD_ENV)
    if not path:
        return
    test = os.environ.get("PYTEST_CURRENT_TEST", "").rsplit(" (", 1)[0]
    line = json.dumps({"test": test, "conn": conn, **event})
    with _record_lock, open(path, "a") as out:
        out.write(line + "\n")


class ConnectionClosed(Exception):
    """The broker closed the connection (how Kafka answers some bad requests)."""


class WireClient:
    def __init__(
        self, bootstrap: str, *, timeout: float = 10.0, client_id: str = "kpy-wire"
    ) -> None:
        host, port = bootstrap.rsplit(":", 1)
        self.sock = socket.create_connection((host, int(port)), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.client_id = client_id
        self.correlation_id = 0
        self.conn = next(_connections)

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> WireClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def send_raw(self, data: bytes) -> None:
        _record(self.conn, {"op": "raw", "data": bytes(data).hex()})
        self.sock.sendall(data)

    def recv_frame(self) -> bytes:
        try:
            frame = self._recv_frame()
        except ConnectionClosed:
            _record(self.conn, {"op": "recv", "frame": None})
            raise
        _record(self.conn, {"op": "recv", "frame": frame.hex()})
        return frame

    def _recv_frame(self) -> bytes:
        size = _SIZE.unpack(self._recv_exact(4))[0]
        return self._recv_exact(size)

    def _recv_exact(self, n: int) -> bytes:
        chunks = []
        while n:
            chunk = self.sock.recv(min(n, 1 << 20))
            if not chunk:
                raise ConnectionClosed("connection closed by the broker")
            chunks.append(chunk)
            n -= len(chunk)
        return b"".join(chunks)

    def send(self, request: Any, version: int, *, expect_response: bool = True) -> Any:
        """Send one request and return the decoded response (None if none is expected)."""
        key = _api_key_of(request)
        self.correlation_id += 1
        corr = self.correlation_id
        self.sock.sendall(framing.encode_request(key, version, corr, self.client_id, request))
        event: dict[str, Any] = {"op": "send", "key": key, "version": version}
        if os.environ.get(_RECORD_ENV):
            event["body"] = request.encode(version).hex()
        if not expect_response:
            _record(self.conn, {**event, "expect_response": False})
            return None
        try:
            frame = self._recv_frame()
        except ConnectionClosed:
            _record(self.conn, {**event, "response": None})
            raise
        _record(self.conn, {**event, "response": frame.hex()})
        got, response = framing.decode_response(key, version, frame)
        if got != corr:
            raise AssertionError(f"correlation id {got} != {corr}")
        return response

    def is_closed(self, timeout: float = 5.0) -> bool:
        """True if the broker closes the connection within ``timeout`` seconds."""
        self.sock.settimeout(timeout)
        try:
            closed = self.sock.recv(1) == b""
        except (ConnectionResetError, BrokenPipeError):
            closed = True
        except TimeoutError:
            closed = False
        _record(self.conn, {"op": "is_closed", "timeout": timeout, "closed": closed})
        return closed


def _api_key_of(request: Any) -> int:
    name = type(request).__name__.removesuffix("Request")
    for key, info in api_keys.API_KEYS.items():
        if info.name == name:
            return key
    raise ValueError(f"not a request: {type(request).__name__}")
