"""Kafka protocol primitive types: a Reader over a memoryview and a chunked Writer.

The Reader never copies ``records`` fields: they come back as memoryview slices of the
input. The Writer collects bytes in a bytearray and keeps ``records`` values as separate
chunks (bytes-like objects or FileRegion), so large batches are never copied when encoding.
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


class Writer:
    __slots__ = ("buf", "chunks")

    def __init__(self) -> None:
        self.buf = bytearray()
        self.chunks: list[Any] = []

    def finish(self) -> list[Any]:
        if self.buf:
            self.chunks.append(self.buf)
            self.buf = bytearray()
        return self.chunks

    def int8(self, v: int) -> None:
        self.buf += _i8.pack(v)

    def boolean(self, v: bool) -> None:
        self.buf.append(1 if v else 0)

    def int16(self, v: int) -> None:
        self.buf += _i16.pack(v)

    def uint16(self, v: int) -> None:
        self.buf += _u16.pack(v)

    def int32(self, v: int) -> None:
        self.buf += _i32.pack(v)

    def uint32(self, v: int) -> None:
        self.buf += _u32.pack(v)

    def int64(self, v: int) -> None:
        self.buf += _i64.pack(v)

    def float64(self, v: float) -> None:
        self.buf += _f64.pack(v)

    def uuid(self, v: uuid.UUID) -> None:
        self.buf += v.bytes

    def uvarint(self, v: int) -> None:
        buf = self.buf
        while v >= 0x80:
            buf.append((v & 0x7F) | 0x80)
            v >>= 7
        buf.append(v)

    def varint(self, v: int) -> None:
        self.uvarint((v << 1) ^ (v >> 63))

    def string(self, v: str) -> None:
        data = v.encode()
        self.buf += _i16.pack(len(data))
        self.buf += data

    def nullable_string(self, v: str | None) -> None:
        if v is None:
            self.buf += b"\xff\xff"
        else:
            self.string(v)

    def compact_string(self, v: str) -> None:
        data = v.encode()
        self.uvarint(len(data) + 1)
        self.buf += data

    def compact_nullable_string(self, v: str | None) -> None:
        if v is None:
            self.buf.append(0)
        else:
            self.compact_string(v)

    def bytes_(self, v: Any) -> None:
        self.buf += _i32.pack(len(v))
        self.buf += v

    def nullable_bytes(self, v: Any) -> None:
        if v is None:
            self.buf += b"\xff\xff\xff\xff"
        else:
            self.bytes_(v)

    def compact_bytes(self, v: Any) -> None:
        self.uvarint(len(v) + 1)
        self.buf += v

    def compact_nullable_bytes(self, v: Any) -> None:
        if v is None:
            self.buf.append(0)
        else:
            self.compact_bytes(v)

    def _records_body(self, v: Any) -> None:
        if len(v) == 0:
            return
        if isinstance(v, (bytes, bytearray, memoryview)):
            if len(v) < 4096:
                self.buf += v
                return
            parts = [v]
        elif hasattr(v, "chunks"):
            parts = list(v.chunks())
        else:
            parts = [v]
        if self.buf:
            self.chunks.append(self.buf)
            self.buf = bytearray()
        self.chunks.extend(parts)

    def records(self, v: Any) -> None:
        if v is None:
            self.buf += b"\xff\xff\xff\xff"
            return
        self.buf += _i32.pack(len(v))
        self._records_body(v)

    def compact_records(self, v: Any) -> None:
        if v is None:
            self.buf.append(0)
            return
        self.uvarint(len(v) + 1)
        self._records_body(v)

    def array_len(self, v: list[Any] | None) -> None:
        self.buf += _i32.pack(-1 if v is None else len(v))

    def compact_array_len(self, v: list[Any] | None) -> None:
        self.uvarint(0 if v is None else len(v) + 1)

    def tagged(self, tag: int, fn: Any, value: Any) -> None:
        """Write one tagged field: tag, size, then what ``fn(writer, value)`` writes."""
        inner = Writer()
        fn(inner, value)
        data = b"".join(bytes(c) for c in inner.finish())
        self.uvarint(tag)
        self.uvarint(len(data))
        self.buf += data

    def raw(self, data: Any) -> None:
        self.buf += data


def write_tagged(w: Writer, items: list[tuple[int, Any]]) -> None:
    """Write a tagged-field section; items are (tag, bytes-like or Writer), any order."""
    w.uvarint(len(items))
    if len(items) > 1:
        items = sorted(items, key=lambda item: item[0])
    for tag, data in items:
        if isinstance(data, Writer):
            data = b"".join(bytes(c) for c in data.finish())
        w.uvarint(tag)
        w.uvarint(len(data))
        w.buf += data


def read_unknown_tag(r: Reader, tag: int, size: int, into: list[tuple[int, bytes]]) -> None:
    into.append((tag, bytes(r.raw(size))))


class Struct:
    """Base of every generated message and struct: equality, repr, encode and decode."""

    __slots__: tuple[str, ...] = ()
    VALID_VERSIONS: tuple[int, int] = (0, 0)

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return all(getattr(self, name) == getattr(other, name) for name in self.__slots__)

    def __repr__(self) -> str:
        inner = ", ".join(
            f"{name}={getattr(self, name)!r}"
            for name in self.__slots__
            if name != "unknown_tagged_fields"
        )
        return f"{type(self).__name__}({inner})"

    def _write(self, w: Writer, version: int) -> None:  # pragma: no cover - generated
        raise NotImplementedError

    @classmethod
    def _read(cls, r: Reader, version: int) -> Any:  # pragma: no cover - generated
        raise NotImplementedError

    def encode_into(self, out: list[Any], version: int) -> None:
        """Append the encoding's chunks to ``out``; records values are appended uncopied."""
        lo, hi = self.VALID_VERSIONS
        if not lo <= version <= hi:
            raise ProtocolError(f"{type(self).__name__} has no version {version}")
        w = Writer()
        self._write(w, version)
        out.extend(w.finish())

    def encode(self, version: int) -> bytes:
        out: list[Any] = []
        self.encode_into(out, version)
        return b"".join(bytes(c) for c in out)

    @classmethod
    def decode(cls, buf: Any, version: int) -> Any:
        lo, hi = cls.VALID_VERSIONS
        if not lo <= version <= hi:
            raise ProtocolError(f"{cls.__name__} has no version {version}")
        try:
            return cls._read(Reader(buf), version)
        except ProtocolError:
            raise
        except (ValueError, IndexError, OverflowError, MemoryError) as exc:
            raise ProtocolError(f"malformed {cls.__name__} v{version}: {exc}") from exc

    @classmethod
    def read_from(cls, r: Reader, version: int) -> Any:
        return cls._read(r, version)


class UnsupportedVersion(ProtocolError):
    """A field with a non-default value cannot be encoded at the requested version."""
