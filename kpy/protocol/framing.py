"""Request and response framing: the 4-byte size prefix and the versioned headers.

Server side: ``decode_request_header`` / ``decode_request`` and ``encode_response``.
Client side (conformance/ and tests): ``encode_request`` and ``decode_response``.
The header version follows from the API key and version (api_keys); the ApiVersions
response always uses header v0 so that any client can read its error code (KIP-511).
"""

from __future__ import annotations

import struct
from typing import Any

from kpy.protocol import api_keys
from kpy.protocol.messages.request_header import RequestHeader
from kpy.protocol.messages.response_header import ResponseHeader
from kpy.protocol.primitives import ProtocolError, Reader, Writer

_SIZE = struct.Struct(">i")
_KEY_VERSION = struct.Struct(">hh")


def decode_request_header(frame: Any) -> tuple[RequestHeader, int]:
    """Decode the header of a request frame (no size prefix); returns it and the body offset."""
    if len(frame) < 8:
        raise ProtocolError(f"request of {len(frame)} bytes is shorter than a header")
    key, version = _KEY_VERSION.unpack_from(frame, 0)
    header_version = api_keys.request_header_version(key, version)
    r = Reader(frame)
    try:
        header = RequestHeader._read(r, header_version)
    except (ValueError, IndexError) as exc:
        raise ProtocolError(f"malformed request header: {exc}") from exc
    return header, r.pos


def decode_request(frame: Any) -> tuple[RequestHeader, Any]:
    header, offset = decode_request_header(frame)
    info = api_keys.API_KEYS.get(header.request_api_key)
    if info is None:
        raise ProtocolError(f"unknown API key {header.request_api_key}")
    body = info.request_class.decode(memoryview(frame)[offset:], header.request_api_version)
    return header, body


def encode_response(
    correlation_id: int, api_key: int, api_version: int, response: Any
) -> list[Any]:
    """Chunks of a whole response frame, size prefix first; records chunks are not copied."""
    w = Writer()
    w.buf += b"\0\0\0\0"
    w.int32(correlation_id)
    if api_keys.response_header_version(api_key, api_version) >= 1:
        w.uvarint(0)  # no tagged fields in the response header
    response._write(w, api_version)
    chunks = w.finish()
    size = sum(len(c) for c in chunks) - 4
    _SIZE.pack_into(chunks[0], 0, size)
    return chunks


def encode_request(
    api_key: int, api_version: int, correlation_id: int, client_id: str | None, request: Any
) -> bytes:
    """A whole request frame with its size prefix, as a client sends it."""
    header = RequestHeader(
        request_api_key=api_key,
        request_api_version=api_version,
        correlation_id=correlation_id,
        client_id=client_id,
    )
    w = Writer()
    header._write(w, api_keys.request_header_version(api_key, api_version))
    request._write(w, api_version)
    body = b"".join(bytes(c) for c in w.finish())
    return _SIZE.pack(len(body)) + body


def decode_response(api_key: int, api_version: int, frame: Any) -> tuple[int, Any]:
    """Decode a response frame (without its size prefix): (correlation id, response)."""
    r = Reader(frame)
    header = ResponseHeader._read(r, api_keys.response_header_version(api_key, api_version))
    info = api_keys.API_KEYS[api_key]
    return header.correlation_id, info.response_class._read(r, api_version)
