"""Record batch compression codecs with Kafka's ids: 0 none, 1 gzip, 2 snappy, 3 lz4, 4 zstd.

Snappy: Kafka's Java client writes the xerial framing (a magic header and length-prefixed
blocks), librdkafka raw snappy; both are read. kpy writes the xerial form, which every Kafka
client reads. LZ4 is the standard frame format (KIP-57). zstd is a standard frame.
"""

from __future__ import annotations

import gzip
import struct
import zlib

import cramjam
import lz4.frame
import zstandard

from kpy.protocol.error_codes import ErrorCode, KafkaError

NONE, GZIP, SNAPPY, LZ4, ZSTD = 0, 1, 2, 3, 4
NAMES = {NONE: "none", GZIP: "gzip", SNAPPY: "snappy", LZ4: "lz4", ZSTD: "zstd"}

_XERIAL_MAGIC = b"\x82SNAPPY\x00"
_XERIAL_HEADER = _XERIAL_MAGIC + struct.pack(">ii", 1, 1)
_XERIAL_BLOCK = 32 * 1024
_I32 = struct.Struct(">i")
_zstd_c = zstandard.ZstdCompressor(level=3)
_zstd_d = zstandard.ZstdDecompressor()


class UnsupportedCodec(KafkaError):
    code = ErrorCode.UNSUPPORTED_COMPRESSION_TYPE


def compress(codec: int, data: bytes | bytearray | memoryview) -> bytes:
    if codec == NONE:
        return bytes(data)
    if codec == GZIP:
        return gzip.compress(bytes(data), compresslevel=6)
    if codec == SNAPPY:
        view = memoryview(data)
        out = [_XERIAL_HEADER]
        for i in range(0, len(view), _XERIAL_BLOCK):
            block = bytes(cramjam.snappy.compress_raw(view[i : i + _XERIAL_BLOCK]))
            out.append(_I32.pack(len(block)))
            out.append(block)
        return b"".join(out)
    if codec == LZ4:
        return lz4.frame.compress(bytes(data))
    if codec == ZSTD:
        return _zstd_c.compress(bytes(data))
    raise UnsupportedCodec(message=f"unknown compression codec id {codec}")


def decompress(codec: int, data: bytes | bytearray | memoryview) -> bytes:
    if codec == NONE:
        return bytes(data)
    if codec == GZIP:
        try:
            return gzip.decompress(bytes(data))
        except (OSError, EOFError, zlib.error) as exc:
            raise ValueError(f"invalid gzip data: {exc}") from exc
    if codec == SNAPPY:
        raw = bytes(data)
        if raw.startswith(_XERIAL_MAGIC):
            out = []
            pos = 16
            while pos < len(raw):
                (n,) = _I32.unpack_from(raw, pos)
                pos += 4
                out.append(bytes(cramjam.snappy.decompress_raw(raw[pos : pos + n])))
                pos += n
            return b"".join(out)
        return bytes(cramjam.snappy.decompress_raw(raw))
    if codec == LZ4:
        return lz4.frame.decompress(bytes(data))
    if codec == ZSTD:
        # Frames written without a content size need a streaming read.
        return _zstd_d.decompressobj().decompress(bytes(data))
    raise UnsupportedCodec(message=f"unknown compression codec id {codec}")
