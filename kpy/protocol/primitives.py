"""Kafka protocol primitive types: what the generated codecs are made of.

- ProtocolError (the peer sent bytes that do not decode), EncodeError / UnsupportedVersion
  (we were asked to encode something that cannot be encoded), FileRegion.
- Fast reader functions ``read_*(buf, pos) -> (value, pos)`` over a byte memoryview and
  writer functions ``write_*(b, value)`` appending to a bytearray, used by generated code.
  ``records`` values are never copied: decoding returns memoryview slices of the input and
  encoding hands large values (or a FileRecords-like object's chunks) over as chunks.
- Reader: a cursor object with the same primitives, for hand-written parsers of embedded
  formats (e.g. the consumer protocol).
- Struct: base class of every generated message (equality, repr, encode, decode).
"""

from __future__ import annotations

import struct
import uuid
from dataclasses import dataclass
from typing import Any

_i8 = struct.Struct(">b")
_i16 = struct.Struct(">h")
_u16 = struct.Struct(">H")
_i32 = struct.Struct(">i")
_u32 = struct.Struct(">I")
_i64 = struct.Struct(">q")
_f64 = struct.Struct(">d")
ZERO_UUID = uuid.UUID(int=0)


class ProtocolError(ValueError):
    """Bytes that do not decode as the expected message (the peer's fault)."""


@dataclass(frozen=True, slots=True)
class FileRegion:
    """``length`` bytes of an open file from ``position``; sent with sendfile, never read here."""

    fd: int
    position: int
    length: int

    def __len__(self) -> int:
        return self.length


class Reader:
    __slots__ = ("buf", "pos", "end")

    def __init__(self, buf: Any, pos: int = 0) -> None:
        self.buf = buf if isinstance(buf, memoryview) else memoryview(buf)
        if self.buf.format != "B" or self.buf.ndim != 1:
            self.buf = self.buf.cast("B")
        self.pos = pos
        self.end = len(self.buf)

    def remaining(self) -> int:
        return self.end - self.pos

    def _need(self, n: int) -> int:
        pos = self.pos
        if n < 0 or pos + n > self.end:
            raise ProtocolError(f"need {n} bytes at position {pos}, have {self.end - pos}")
        self.pos = pos + n
        return pos

    def int8(self) -> int:
        return _i8.unpack_from(self.buf, self._need(1))[0]

    def boolean(self) -> bool:
        return self.buf[self._need(1)] != 0

    def int16(self) -> int:
        return _i16.unpack_from(self.buf, self._need(2))[0]

    def uint16(self) -> int:
        return _u16.unpack_from(self.buf, self._need(2))[0]

    def int32(self) -> int:
        return _i32.unpack_from(self.buf, self._need(4))[0]

    def uint32(self) -> int:
        return _u32.unpack_from(self.buf, self._need(4))[0]

    def int64(self) -> int:
        return _i64.unpack_from(self.buf, self._need(8))[0]

    def float64(self) -> float:
        return _f64.unpack_from(self.buf, self._need(8))[0]

    def uuid(self) -> uuid.UUID:
        pos = self._need(16)
        return uuid.UUID(bytes=bytes(self.buf[pos : pos + 16]))

    def uvarint(self) -> int:
        buf, pos, end = self.buf, self.pos, self.end
        result = shift = 0
        while True:
            if pos >= end:
                raise ProtocolError("truncated varint")
            b = buf[pos]
            pos += 1
            result |= (b & 0x7F) << shift
            if not b & 0x80:
                break
            shift += 7
            if shift > 63:
                raise ProtocolError("varint too long")
        self.pos = pos
        return result

    def varint(self) -> int:
        v = self.uvarint()
        return (v >> 1) ^ -(v & 1)

    def raw(self, n: int) -> memoryview:
        pos = self._need(n)
        return self.buf[pos : pos + n]

    def _str(self, n: int) -> str:
        pos = self._need(n)
        try:
            return str(self.buf[pos : pos + n], "utf-8")
        except UnicodeDecodeError as exc:
            raise ProtocolError(f"invalid UTF-8 in string at {pos}") from exc

    def string(self) -> str:
        n = self.int16()
        if n < 0:
            raise ProtocolError("null where a string is required")
        return self._str(n)

    def nullable_string(self) -> str | None:
        n = self.int16()
        return None if n < 0 else self._str(n)

    def compact_string(self) -> str:
        n = self.uvarint() - 1
        if n < 0:
            raise ProtocolError("null where a string is required")
        return self._str(n)

    def compact_nullable_string(self) -> str | None:
        n = self.uvarint() - 1
        return None if n < 0 else self._str(n)

    def bytes_(self) -> bytes:
        n = self.int32()
        if n < 0:
            raise ProtocolError("null where bytes are required")
        return bytes(self.raw(n))

    def nullable_bytes(self) -> bytes | None:
        n = self.int32()
        return None if n < 0 else bytes(self.raw(n))

    def compact_bytes(self) -> bytes:
        n = self.uvarint() - 1
        if n < 0:
            raise ProtocolError("null where bytes are required")
        return bytes(self.raw(n))

    def compact_nullable_bytes(self) -> bytes | None:
        n = self.uvarint() - 1
        return None if n < 0 else bytes(self.raw(n))

    def records(self) -> memoryview | None:
        n = self.int32()
        return None if n < 0 else self.raw(n)

    def compact_records(self) -> memoryview | None:
        n = self.uvarint() - 1
        return None if n < 0 else self.raw(n)

    def array_len(self) -> int:
        n = self.int32()
        if n > self.end - self.pos:
            raise ProtocolError(f"array length {n} exceeds the {self.end - self.pos} bytes left")
        return n

    def compact_array_len(self) -> int:
        n = self.uvarint() - 1
        if n > self.end - self.pos:
            raise ProtocolError(f"array length {n} exceeds the {self.end - self.pos} bytes left")
        return n


# -- fast functions used by the generated code ------------------------------------------------
# Readers take (buf: memoryview of bytes, pos) and return (value, new pos); writers append to
# a bytearray ``b``. Bounds are checked where a slice would otherwise silently truncate;
# struct.error and IndexError from reading past the end become ProtocolError in Struct.decode.

_i16_unpack = _i16.unpack_from
_i32_unpack = _i32.unpack_from
_i16_pack = _i16.pack
_i32_pack = _i32.pack


def _too_short(what: str, n: int, pos: int, size: int) -> ProtocolError:
    if n < 0:
        return ProtocolError(f"null {what} where a value is required at position {pos}")
    return ProtocolError(f"{what} of {n} bytes at position {pos} overruns the {size}-byte buffer")


def read_uvarint(buf: memoryview, pos: int) -> tuple[int, int]:
    b = buf[pos]
    if b < 0x80:
        return b, pos + 1
    result = b & 0x7F
    shift = 7
    while True:
        pos += 1
        b = buf[pos]
        result |= (b & 0x7F) << shift
        if b < 0x80:
            return result, pos + 1
        shift += 7
        if shift > 63:
            raise ProtocolError(f"unsigned varint longer than 10 bytes at position {pos}")


def read_varint(buf: memoryview, pos: int) -> tuple[int, int]:
    v, pos = read_uvarint(buf, pos)
    return (v >> 1) ^ -(v & 1), pos


def _compact_len(buf: memoryview, pos: int) -> tuple[int, int]:
    n = buf[pos]
    if n < 0x80:
        return n - 1, pos + 1
    n, pos = read_uvarint(buf, pos)
    return n - 1, pos


def _str(buf: memoryview, pos: int, n: int) -> tuple[str, int]:
    end = pos + n
    if n < 0 or end > len(buf):
        raise _too_short("string", n, pos, len(buf))
    return str(buf[pos:end], "utf-8"), end


def read_string(buf: memoryview, pos: int) -> tuple[str, int]:
    return _str(buf, pos + 2, _i16_unpack(buf, pos)[0])


def read_nullable_string(buf: memoryview, pos: int) -> tuple[str | None, int]:
    n = _i16_unpack(buf, pos)[0]
    if n < 0:
        return None, pos + 2
    return _str(buf, pos + 2, n)


def read_compact_string(buf: memoryview, pos: int) -> tuple[str, int]:
    n, pos = _compact_len(buf, pos)
    return _str(buf, pos, n)


def read_compact_nullable_string(buf: memoryview, pos: int) -> tuple[str | None, int]:
    n, pos = _compact_len(buf, pos)
    if n < 0:
        return None, pos
    return _str(buf, pos, n)


def _view(buf: memoryview, pos: int, n: int, what: str) -> tuple[memoryview, int]:
    end = pos + n
    if n < 0 or end > len(buf):
        raise _too_short(what, n, pos, len(buf))
    return buf[pos:end], end


def read_bytes(buf: memoryview, pos: int) -> tuple[bytes, int]:
    v, pos = _view(buf, pos + 4, _i32_unpack(buf, pos)[0], "bytes")
    return bytes(v), pos


def read_nullable_bytes(buf: memoryview, pos: int) -> tuple[bytes | None, int]:
    n = _i32_unpack(buf, pos)[0]
    if n < 0:
        return None, pos + 4
    v, pos = _view(buf, pos + 4, n, "bytes")
    return bytes(v), pos


def read_compact_bytes(buf: memoryview, pos: int) -> tuple[bytes, int]:
    n, pos = _compact_len(buf, pos)
    v, pos = _view(buf, pos, n, "bytes")
    return bytes(v), pos


def read_compact_nullable_bytes(buf: memoryview, pos: int) -> tuple[bytes | None, int]:
    n, pos = _compact_len(buf, pos)
    if n < 0:
        return None, pos
    v, pos = _view(buf, pos, n, "bytes")
    return bytes(v), pos


def read_records(buf: memoryview, pos: int) -> tuple[memoryview | None, int]:
    """A records field as a zero-copy view of ``buf`` (None when null)."""
    n = _i32_unpack(buf, pos)[0]
    if n < 0:
        return None, pos + 4
    return _view(buf, pos + 4, n, "records")


def read_compact_records(buf: memoryview, pos: int) -> tuple[memoryview | None, int]:
    n, pos = _compact_len(buf, pos)
    if n < 0:
        return None, pos
    return _view(buf, pos, n, "records")


def uuid_from_bytes(raw: bytes) -> uuid.UUID:
    return ZERO_UUID if raw == _ZERO16 else uuid.UUID(bytes=raw)


_ZERO16 = bytes(16)


def read_uuid(buf: memoryview, pos: int) -> tuple[uuid.UUID, int]:
    raw = bytes(buf[pos : pos + 16])
    if len(raw) != 16:
        raise _too_short("uuid", 16, pos, len(buf))
    return uuid_from_bytes(raw), pos + 16


def array_len_error(n: int, pos: int, size: int) -> ProtocolError:
    if n < 0:
        return ProtocolError(f"null array where an array is required at position {pos}")
    return ProtocolError(f"array of {n} elements at position {pos} overruns {size}-byte buffer")


def read_unknown_tag(
    buf: memoryview, pos: int, tag: int, size: int, into: list[tuple[int, bytes]]
) -> int:
    end = pos + size
    if end > len(buf):
        raise _too_short("tagged field", size, pos, len(buf))
    into.append((tag, bytes(buf[pos:end])))
    return end


def tag_size_error(tag: int, size: int, used: int) -> ProtocolError:
    return ProtocolError(f"tagged field {tag} declared {size} bytes but its value used {used}")


def write_uvarint(b: bytearray, v: int) -> None:
    while v >= 0x80:
        b.append((v & 0x7F) | 0x80)
        v >>= 7
    b.append(v)


def write_varint(b: bytearray, v: int) -> None:
    write_uvarint(b, (v << 1) ^ (v >> 63))


def write_string(b: bytearray, v: str) -> None:
    data = v.encode()
    b += _i16_pack(len(data))
    b += data


def write_nullable_string(b: bytearray, v: str | None) -> None:
    if v is None:
        b += b"\xff\xff"
    else:
        data = v.encode()
        b += _i16_pack(len(data))
        b += data


def write_compact_string(b: bytearray, v: str) -> None:
    data = v.encode()
    n = len(data) + 1
    if n < 0x80:
        b.append(n)
    else:
        write_uvarint(b, n)
    b += data


def write_compact_nullable_string(b: bytearray, v: str | None) -> None:
    if v is None:
        b.append(0)
    else:
        write_compact_string(b, v)


def write_bytes(b: bytearray, v: Any) -> None:
    b += _i32_pack(len(v))
    b += v


def write_nullable_bytes(b: bytearray, v: Any) -> None:
    if v is None:
        b += b"\xff\xff\xff\xff"
    else:
        b += _i32_pack(len(v))
        b += v


def write_compact_bytes(b: bytearray, v: Any) -> None:
    write_uvarint(b, len(v) + 1)
    b += v


def write_compact_nullable_bytes(b: bytearray, v: Any) -> None:
    if v is None:
        b.append(0)
    else:
        write_uvarint(b, len(v) + 1)
        b += v


# Records smaller than this are copied into the surrounding buffer (cheaper than a chunk).
RECORDS_INLINE_LIMIT = 4096


def _records_body(b: bytearray, chunks: list[Any], v: Any) -> None:
    if isinstance(v, (bytes, bytearray, memoryview)):
        if len(v) < RECORDS_INLINE_LIMIT:
            b += v
            return
        parts: Any = (v,)
    else:
        parts = v.chunks()
    # Hand the bytes written so far over as their own chunk, then the records uncopied.
    chunks.append(bytearray(b))
    b.clear()
    chunks.extend(parts)


def write_records(b: bytearray, chunks: list[Any], v: Any) -> None:
    """A records field: length, then ``v`` (bytes-like or FileRecords-like) as its own chunks."""
    if v is None:
        b += b"\xff\xff\xff\xff"
    else:
        b += _i32_pack(len(v))
        _records_body(b, chunks, v)


def write_compact_records(b: bytearray, chunks: list[Any], v: Any) -> None:
    if v is None:
        b.append(0)
    else:
        write_uvarint(b, len(v) + 1)
        _records_body(b, chunks, v)


def write_tags(b: bytearray, items: list[tuple[int, Any]]) -> None:
    """A tagged-field section from (tag, bytes-like) pairs, written in ascending tag order."""
    write_uvarint(b, len(items))
    if len(items) > 1:
        items = sorted(items, key=lambda item: item[0])
    for tag, data in items:
        write_uvarint(b, tag)
        write_uvarint(b, len(data))
        b += data


class Struct:
    """Base of every generated message and struct: equality, repr, encode and decode.

    Subclasses (generated) provide ``_read(buf, pos, version) -> (obj, pos)`` as a static
    method and ``_write(self, b, chunks, version)``.
    """

    __slots__: tuple[str, ...] = ()
    VALID_VERSIONS: tuple[int, int] = (0, 0)
    __hash__ = None  # type: ignore[assignment]  # mutable, compared by value

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return all(getattr(self, name) == getattr(other, name) for name in self.__slots__)

    def __repr__(self) -> str:
        inner = ", ".join(
            f"{name}={getattr(self, name)!r}"
            for name in self.__slots__
            if name != "unknown_tagged_fields" or getattr(self, name)
        )
        return f"{type(self).__name__}({inner})"

    @staticmethod
    def _read(buf: memoryview, pos: int, version: int) -> tuple[Any, int]:  # pragma: no cover
        raise NotImplementedError

    def _write(self, b: bytearray, chunks: list[Any], version: int) -> None:  # pragma: no cover
        raise NotImplementedError

    def encode_into(self, out: list[Any], version: int) -> None:
        """Append the encoding's chunks to ``out``; large records values are appended uncopied."""
        b = bytearray()
        self.encode_into_buffer(b, out, version)
        if b:
            out.append(b)

    def encode_into_buffer(self, b: bytearray, chunks: list[Any], version: int) -> None:
        """Append the encoding to ``b``; when a large records value is met, ``b`` so far and
        the records go to ``chunks`` (``b`` itself is then emptied), so that the whole
        encoding is ``chunks`` followed by ``b``."""
        lo, hi = self.VALID_VERSIONS
        if not lo <= version <= hi:
            raise UnsupportedVersion(f"{type(self).__name__} has no version {version}")
        try:
            self._write(b, chunks, version)
        except (struct.error, TypeError, AttributeError, OverflowError) as exc:
            raise EncodeError(f"cannot encode {type(self).__name__} v{version}: {exc}") from exc

    def encode(self, version: int) -> bytes:
        out: list[Any] = []
        self.encode_into(out, version)
        try:
            return b"".join(out)
        except TypeError as exc:
            raise EncodeError("records given as file regions cannot be joined into bytes") from exc

    @classmethod
    def read(cls, buf: memoryview, pos: int, version: int) -> tuple[Any, int]:
        """Decode one instance from ``buf`` (a byte memoryview) at ``pos``: (instance, end)."""
        lo, hi = cls.VALID_VERSIONS
        if not lo <= version <= hi:
            raise ProtocolError(f"{cls.__name__} has no version {version}")
        try:
            return cls._read(buf, pos, version)
        except ProtocolError:
            raise
        except (struct.error, IndexError, ValueError, OverflowError, MemoryError) as exc:
            raise ProtocolError(f"malformed {cls.__name__} v{version}: {exc}") from exc

    @classmethod
    def decode(cls, buf: Any, version: int) -> Any:
        """Decode ``buf`` (bytes, bytearray or memoryview); records fields stay views of it.

        Bytes after the message are ignored, as Kafka does.
        """
        return cls.read(as_view(buf), 0, version)[0]


def as_view(buf: Any) -> memoryview:
    view = buf if isinstance(buf, memoryview) else memoryview(buf)
    if view.format != "B" or view.ndim != 1:
        view = view.cast("B")
    return view


class EncodeError(ValueError):
    """A message that cannot be encoded as asked (our fault, not the peer's)."""


class UnsupportedVersion(EncodeError):
    """A field with a non-default value cannot be encoded at the requested version."""


def unsupported_field(cls_name: str, attr: str, version: int) -> UnsupportedVersion:
    return UnsupportedVersion(f"{cls_name}.{attr} has a non-default value but v{version} lacks it")
