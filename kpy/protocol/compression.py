"""Record batch compression codecs with Kafka's ids: 0 none, 1 gzip, 2 snappy, 3 lz4, 4 zstd.

compress(codec, data) and decompress(codec, data) promise:

- gzip: RFC 1952 members (several concatenated members are read as one stream).
- snappy: both forms are read: raw snappy (librdkafka, kafka-python without framing) and
  the xerial framing the Java client writes (magic ``\\x82SNAPPY\\x00``, two int32 version
  fields, then int32-length-prefixed raw blocks). kpy *writes* the xerial form with 32 KiB
  blocks, as the Java client and broker do: it is what a real Kafka broker puts in a log when
  it recompresses, and every client reads it (the Java client's reader falls back to raw
  snappy, and librdkafka and kafka-python both detect the xerial header).
- lz4: the LZ4 frame format (KIP-57) written with independent 64 KiB blocks and no content
  size, because the Java client's reader rejects frames with linked blocks.
- zstd: one standard zstd frame (content size may be absent; it is streamed then).

Unknown codec ids raise UnsupportedCodec (UNSUPPORTED_COMPRESSION_TYPE); undecodable data,
and data that would decompress to more than ``limit`` bytes (MAX_DECOMPRESSED, 256 MiB, by
default: a small batch must not be able to make the broker allocate gigabytes), raises
CorruptCompressedData (CORRUPT_MESSAGE). Both are KafkaErrors, so dispatch can answer
with the code directly; records.py turns the latter into InvalidBatch for batch readers.
"""

from __future__ import annotations

import gzip
import io
import struct
import threading
import zlib

import cramjam
import lz4.block
import lz4.frame
import zstandard

from kpy.protocol.error_codes import ErrorCode, KafkaError

NONE, GZIP, SNAPPY, LZ4, ZSTD = 0, 1, 2, 3, 4
NAMES = {NONE: "none", GZIP: "gzip", SNAPPY: "snappy", LZ4: "lz4", ZSTD: "zstd"}
CODEC_IDS = {name: codec for codec, name in NAMES.items()}

XERIAL_MAGIC = b"\x82SNAPPY\x00"
_XERIAL_HEADER = XERIAL_MAGIC + struct.pack(">ii", 1, 1)
_XERIAL_HEADER_SIZE = 16
_XERIAL_BLOCK = 32 * 1024
_I32 = struct.Struct(">i")
_LZ4_MAGIC = 0x184D2204
_LZ4_BLOCK_SIZES = {4: 64 << 10, 5: 256 << 10, 6: 1 << 20, 7: 4 << 20}

Buffer = bytes | bytearray | memoryview

MAX_DECOMPRESSED = 256 << 20
# zstd input is fed in slices this big, so one call can overshoot the limit by at most what
# a slice can expand to (128 KiB blocks from a few bytes each: about 64 MiB).
_ZSTD_SLICE = 2048

# What each library raises on bad input: gzip OSError/EOFError/zlib.error, cramjam
# DecompressionError, lz4 RuntimeError/LZ4BlockError, zstandard ZstdError.
_DECODE_ERRORS = (
    OSError,
    EOFError,
    ValueError,
    RuntimeError,
    zlib.error,
    cramjam.DecompressionError,
    lz4.block.LZ4BlockError,
    zstandard.ZstdError,
)


class CodecError(KafkaError):
    """Base of the errors raised by compress/decompress."""


class UnsupportedCodec(CodecError):
    code = ErrorCode.UNSUPPORTED_COMPRESSION_TYPE


class CorruptCompressedData(CodecError):
    code = ErrorCode.CORRUPT_MESSAGE


# zstandard (de)compressor objects must not be shared between threads, and storage runs
# recompression in worker threads.
_local = threading.local()


def _zstd_compressor() -> zstandard.ZstdCompressor:
    c = getattr(_local, "zc", None)
    if c is None:
        c = _local.zc = zstandard.ZstdCompressor(level=3)
    return c


def _zstd_decompressor() -> zstandard.ZstdDecompressor:
    d = getattr(_local, "zd", None)
    if d is None:
        d = _local.zd = zstandard.ZstdDecompressor()
    return d


def compress(codec: int, data: Buffer) -> bytes:
    """``data`` compressed with ``codec`` in the form Kafka clients read."""
    if codec == NONE:
        return bytes(data)
    if codec == GZIP:
        # The header Java's GZIPOutputStream (Kafka) writes: no modification time, OS unknown;
        # the same records then compress to the same bytes whenever they are written.
        out = io.BytesIO()
        with gzip.GzipFile(fileobj=out, mode="wb", compresslevel=6, mtime=0) as f:
            f.write(data)
        return out.getvalue()
    if codec == SNAPPY:
        return snappy_xerial_compress(data)
    if codec == LZ4:
        return lz4.frame.compress(
            data,
            block_size=lz4.frame.BLOCKSIZE_MAX64KB,
            block_linked=False,
            content_checksum=False,
            store_size=False,
        )
    if codec == ZSTD:
        return _zstd_compressor().compress(data)
    raise UnsupportedCodec(message=f"unknown compression codec id {codec}")


def decompress(
    codec: int,
    data: Buffer,
    *,
    lz4_ignore_header_checksum: bool = False,
    limit: int = MAX_DECOMPRESSED,
) -> bytes:
    """The bytes ``data`` decompresses to (at most ``limit`` of them).

    ``lz4_ignore_header_checksum`` reads the LZ4 frames of magic 0 message sets, whose frame
    header checksum old Kafka versions computed wrongly.
    """
    name = NAMES.get(codec)
    if name is None:
        raise UnsupportedCodec(message=f"unknown compression codec id {codec}")
    if codec == NONE or not data:
        # Nothing compressed is nothing (an emptied batch may keep its codec bits).
        return bytes(data)
    try:
        if codec == GZIP:
            return _gzip_decompress(data, limit)
        if codec == SNAPPY:
            return snappy_decompress(data, limit)
        if codec == LZ4:
            if lz4_ignore_header_checksum:
                return _lz4_frame_blocks(data, limit)
            reader = lz4.frame.LZ4FrameDecompressor()
            out = reader.decompress(data, max_length=limit + 1)
            _check_size("lz4", len(out), limit)
            if not reader.eof:
                raise CorruptCompressedData(message="lz4 frame truncated")
            return out
        return _zstd_decompress(data, limit)
    except CodecError:
        raise
    except _DECODE_ERRORS as exc:
        raise CorruptCompressedData(message=f"invalid {name} data: {exc}") from exc


def _check_size(name: str, size: int, limit: int) -> None:
    if size > limit:
        raise CorruptCompressedData(message=f"{name} data decompresses to over {limit} bytes")


def _gzip_decompress(data: Buffer, limit: int) -> bytes:
    out: list[bytes] = []
    total = 0
    rest: Buffer = data
    while rest:
        reader = zlib.decompressobj(16 + zlib.MAX_WBITS)  # one gzip member
        chunk = reader.decompress(rest, limit - total + 1)
        total += len(chunk)
        _check_size("gzip", total, limit)
        if not reader.eof:
            raise CorruptCompressedData(message="gzip member truncated")
        out.append(chunk)
        rest = reader.unused_data
    return b"".join(out)


def _zstd_decompress(data: Buffer, limit: int) -> bytes:
    # A streaming read, because frames written without a content size are common; it
    # returns what it has for a truncated frame, so the end of the frame is checked.
    reader = _zstd_decompressor().decompressobj()
    view = memoryview(data)
    out: list[bytes] = []
    total = 0
    for pos in range(0, len(view), _ZSTD_SLICE):
        chunk = reader.decompress(view[pos : pos + _ZSTD_SLICE])
        total += len(chunk)
        _check_size("zstd", total, limit)
        out.append(chunk)
        if reader.eof:
            break
    if not reader.eof:
        raise CorruptCompressedData(message="zstd frame truncated")
    return b"".join(out)


def _snappy_length(block: memoryview) -> int:
    """The uncompressed length a raw snappy block starts with (a varint)."""
    n = shift = 0
    for i in range(min(len(block), 5)):
        n |= (block[i] & 0x7F) << shift
        if block[i] < 0x80:
            return n
        shift += 7
    raise CorruptCompressedData(message="snappy block without a length")


def snappy_xerial_compress(data: Buffer) -> bytes:
    view = memoryview(data)
    out = [_XERIAL_HEADER]
    for i in range(0, len(view), _XERIAL_BLOCK):
        block = bytes(cramjam.snappy.compress_raw(view[i : i + _XERIAL_BLOCK]))
        out.append(_I32.pack(len(block)))
        out.append(block)
    return b"".join(out)


def snappy_decompress(data: Buffer, limit: int = MAX_DECOMPRESSED) -> bytes:
    """Raw snappy or xerial-framed snappy, told apart by the xerial magic."""
    view = memoryview(data)
    if bytes(view[:8]) != XERIAL_MAGIC:
        _check_size("snappy", _snappy_length(view), limit)
        return bytes(cramjam.snappy.decompress_raw(view))
    if len(view) < _XERIAL_HEADER_SIZE:
        raise CorruptCompressedData(message="xerial snappy header truncated")
    out: list[bytes] = []
    pos = _XERIAL_HEADER_SIZE
    end = len(view)
    total = 0
    while pos < end:
        if end - pos < 4:
            raise CorruptCompressedData(message=f"xerial snappy block length truncated at {pos}")
        (n,) = _I32.unpack_from(view, pos)
        pos += 4
        if n < 0 or pos + n > end:
            raise CorruptCompressedData(message=f"xerial snappy block of {n} bytes at {pos}")
        total += _snappy_length(view[pos : pos + n])
        _check_size("snappy", total, limit)
        out.append(bytes(cramjam.snappy.decompress_raw(view[pos : pos + n])))
        pos += n
    return b"".join(out)


def _lz4_frame_blocks(data: Buffer, limit: int) -> bytes:
    """Decode an LZ4 frame block by block, skipping the header checksum byte."""
    view = memoryview(data)
    if len(view) < 7 or int.from_bytes(view[:4], "little") != _LZ4_MAGIC:
        raise CorruptCompressedData(message="not an LZ4 frame")
    flg, bd = view[4], view[5]
    if not flg & 0x20:
        raise CorruptCompressedData(message="LZ4 frame with linked blocks")
    max_block = _LZ4_BLOCK_SIZES.get((bd >> 4) & 0x7)
    if max_block is None:
        raise CorruptCompressedData(message=f"LZ4 block size code {bd:#x}")
    pos = 6 + (8 if flg & 0x08 else 0) + 1  # descriptor, optional content size, HC
    block_checksum = 4 if flg & 0x10 else 0
    out: list[bytes] = []
    total = 0
    while True:
        if len(view) - pos < 4:
            raise CorruptCompressedData(message="LZ4 frame truncated")
        size = int.from_bytes(view[pos : pos + 4], "little")
        pos += 4
        if size == 0:  # end mark; an optional content checksum may follow
            return b"".join(out)
        stored, size = size & 0x80000000, size & 0x7FFFFFFF
        block = view[pos : pos + size]
        if len(block) != size:
            raise CorruptCompressedData(message="LZ4 block truncated")
        if stored:
            out.append(bytes(block))
        else:
            out.append(lz4.block.decompress(block, uncompressed_size=max_block))
        total += len(out[-1])
        _check_size("lz4", total, limit)
        pos += size + block_checksum
