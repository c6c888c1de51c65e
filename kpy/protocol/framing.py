"""Request and response framing: the 4-byte size prefix and the versioned headers.

Server side: ``decode_request_header`` / ``decode_request`` and ``encode_response``.
Client side (conformance/ and tests): ``encode_request`` and ``decode_response``.
The header version follows from the API key and version (api_keys); the ApiVersions
response always uses header v0 so that any client can read its error code (KIP-511).
Frames given to the decoders exclude the size prefix. Malformed input raises ProtocolError.
"""

from __future__ import annotations

import struct
from typing import Any

from kpy.protocol import api_keys
from kpy.protocol.messages.request_header import RequestHeader
from kpy.protocol.messages.response_header import ResponseHeader
from kpy.protocol.primitives import ProtocolError, as_view

__all__ = [
    "ProtocolError",
    "decode_request",
    "decode_request_header",
    "decode_response",
    "encode_request",
    "encode_response",
]

_SIZE = struct.Struct(">i")
_KEY_VERSION = struct.Struct(">hh")
_CORRELATION = struct.Struct(">i")


def decode_request_header(frame: Any) -> tuple[RequestHeader, int]:
    """Decode the header of a request frame; returns it and the offset of the body."""
    if len(frame) < 8:
        raise ProtocolError(f"request of {len(frame)} bytes is shorter than a header")
    view = as_view(frame)
    key, version = _KEY_VERSION.unpack_from(view, 0)
    header: RequestHeader
    header, pos = RequestHeader.read(view, 0, api_keys.request_header_version(key, version))
    return header, pos


def decode_request(frame: Any) -> tuple[RequestHeader, Any]:
    """Decode a whole request frame: (header, request). Records fields are views of ``frame``.

    Raises ProtocolError for an unknown API key, a version outside the schema's range or
    bytes that do not decode; the caller can still answer with the header if it decoded.
    """
    header, pos = decode_request_header(frame)
    info = api_keys.API_KEYS.get(header.request_api_key)
    if info is None:
        raise ProtocolError(f"unknown API key {header.request_api_key}")
    body, _end = info.request_class.read(as_view(frame), pos, header.request_api_version)
    return header, body


def encode_response(
    correlation_id: int, api_key: int, api_version: int, response: Any
) -> list[Any]:
    """Chunks of a whole response frame, size prefix first; records chunks are not copied."""
    b = bytearray(8)
    _CORRELATION.pack_into(b, 4, correlation_id)
    if api_keys.response_header_version(api_key, api_version) >= 1:
        b.append(0)  # an empty tagged-field section
    chunks: list[Any] = []
    response.encode_into_buffer(b, chunks, api_version)
    if not chunks:  # no records handed over: the whole frame is ``b`` (most responses)
        _SIZE.pack_into(b, 0, len(b) - 4)
        return [b]
    if b:
        chunks.append(b)
    _SIZE.pack_into(chunks[0], 0, sum(map(len, chunks)) - 4)
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
    b = bytearray(4)
    chunks: list[Any] = []
    header.encode_into_buffer(b, chunks, api_keys.request_header_version(api_key, api_version))
    request.encode_into_buffer(b, chunks, api_version)
    chunks.append(b)
    frame = bytearray(b"".join(chunks))
    _SIZE.pack_into(frame, 0, len(frame) - 4)
    return bytes(frame)


def decode_response(api_key: int, api_version: int, frame: Any) -> tuple[int, Any]:
    """Decode a response frame (without its size prefix): (correlation id, response)."""
    view = as_view(frame)
    header_version = api_keys.response_header_version(api_key, api_version)
    header, pos = ResponseHeader.read(view, 0, header_version)
    info = api_keys.API_KEYS.get(api_key)
    if info is None:
        raise ProtocolError(f"unknown API key {api_key}")
    response, _end = info.response_class.read(view, pos, api_version)
    return header.correlation_id, response
