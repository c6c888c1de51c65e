"""Compression codecs: round trips, both snappy framings, Java-readable lz4, typed errors."""

from __future__ import annotations

import cramjam
import lz4.frame
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kpy.protocol import compression
from kpy.protocol.error_codes import ErrorCode, KafkaError


@settings(max_examples=100, deadline=None)
@given(codec=st.sampled_from([0, 1, 2, 3, 4]), data=st.binary(max_size=5000))
def test_round_trip(codec, data):
    assert compression.decompress(codec, compression.compress(codec, data)) == data


@pytest.mark.parametrize("codec", [1, 2, 3, 4])
def test_round_trip_large_and_memoryview(codec):
    data = bytes(range(256)) * 1000 + b"\x00" * 200_000
    packed = compression.compress(codec, memoryview(data))
    assert len(packed) < len(data)
    assert compression.decompress(codec, memoryview(packed)) == data


def test_snappy_reads_raw_and_xerial_framing():
    data = b"abc" * 50000
    raw = bytes(cramjam.snappy.compress_raw(data))
    assert compression.decompress(compression.SNAPPY, raw) == data
    framed = compression.compress(compression.SNAPPY, data)
    assert framed.startswith(b"\x82SNAPPY\x00\x00\x00\x00\x01\x00\x00\x00\x01")
    assert compression.decompress(compression.SNAPPY, framed) == data


def test_snappy_xerial_is_what_kafka_python_reads_and_writes():
    from kafka.codec import snappy_decode, snappy_encode

    data = b"kafka " * 20000
    assert snappy_decode(compression.compress(compression.SNAPPY, data)) == data
    assert (
        compression.decompress(compression.SNAPPY, snappy_encode(data, xerial_compatible=True))
        == data
    )


def test_lz4_frames_have_independent_blocks_and_no_content_size():
    # The Java client's KafkaLZ4BlockInputStream rejects linked blocks.
    packed = compression.compress(compression.LZ4, b"x" * 300_000)
    flg = packed[4]
    assert flg & 0x20, "block independence flag"
    assert not flg & 0x08, "content size"
    assert lz4.frame.get_frame_info(packed)["block_size"] == 64 * 1024


def test_lz4_header_checksum_can_be_ignored_for_old_kafka():
    # Kafka before 0.10 wrote a wrong frame descriptor checksum (HC) in magic 0 sets.
    data = b"old kafka " * 10000
    fine = compression.compress(compression.LZ4, data)
    hc = 6  # magic (4), FLG, BD, then HC: no content size in our frames
    old = fine[:hc] + bytes([fine[hc] ^ 0x5A]) + fine[hc + 1 :]
    with pytest.raises(compression.CorruptCompressedData):
        compression.decompress(compression.LZ4, old)
    assert compression.decompress(compression.LZ4, old, lz4_ignore_header_checksum=True) == data
    assert compression.decompress(compression.LZ4, fine, lz4_ignore_header_checksum=True) == data


def test_empty_input_decompresses_to_nothing():
    for codec in (0, 1, 2, 3, 4):
        assert compression.decompress(codec, b"") == b""


@pytest.mark.parametrize("codec", [5, 6, 7, -1])
def test_unknown_codec_is_a_typed_error(codec):
    for call in (compression.compress, compression.decompress):
        with pytest.raises(compression.UnsupportedCodec) as err:
            call(codec, b"x")
        assert isinstance(err.value, KafkaError)
        assert err.value.code == ErrorCode.UNSUPPORTED_COMPRESSION_TYPE


@pytest.mark.parametrize("codec", [1, 2, 3, 4])
@pytest.mark.parametrize(
    "garbage",
    [b"\xff\x01", b"not compressed at all", b"\x82SNAPPY\x00\x00\x00\x00\x01\x00\x00\x00\x01\x00"],
)
def test_garbage_is_corrupt_compressed_data(codec, garbage):
    with pytest.raises(compression.CorruptCompressedData) as err:
        compression.decompress(codec, garbage)
    assert err.value.code == ErrorCode.CORRUPT_MESSAGE


@pytest.mark.parametrize("codec", [1, 2, 3, 4])
def test_truncated_data_is_corrupt(codec):
    packed = compression.compress(codec, bytes(range(256)) * 200)
    with pytest.raises(compression.CorruptCompressedData):
        compression.decompress(codec, packed[: len(packed) // 2])


def test_xerial_block_length_past_the_end():
    framed = bytearray(compression.compress(compression.SNAPPY, b"abc" * 100))
    framed[16:20] = (10_000).to_bytes(4, "big")
    with pytest.raises(compression.CorruptCompressedData):
        compression.decompress(compression.SNAPPY, framed)


@pytest.mark.parametrize("codec", [1, 2, 3, 4])
def test_output_is_bounded(codec):
    data = b"\x00" * 3_000_000
    packed = compression.compress(codec, data)
    assert compression.decompress(codec, packed, limit=len(data)) == data
    with pytest.raises(compression.CorruptCompressedData, match="decompresses to over"):
        compression.decompress(codec, packed, limit=1_000_000)


def test_raw_snappy_and_old_lz4_frames_are_bounded():
    data = b"\x00" * 3_000_000
    raw = bytes(cramjam.snappy.compress_raw(data))
    with pytest.raises(compression.CorruptCompressedData, match="decompresses to over"):
        compression.decompress(compression.SNAPPY, raw, limit=1_000_000)
    frame = lz4.frame.compress(data, block_linked=False)
    assert compression.decompress(compression.LZ4, frame, lz4_ignore_header_checksum=True) == data
    with pytest.raises(compression.CorruptCompressedData, match="decompresses to over"):
        compression.decompress(
            compression.LZ4, frame, lz4_ignore_header_checksum=True, limit=1_000_000
        )


def test_zstd_bomb_stops_at_the_default_limit():
    # A few KiB of zstd that would expand to 1 GiB: decompression stops soon after the
    # default limit instead of allocating it all.
    writer = compression.zstandard.ZstdCompressor(level=1).compressobj()
    zeros = b"\x00" * (1 << 20)
    bomb = b"".join(writer.compress(zeros) for _ in range(1024)) + writer.flush()
    assert len(bomb) < 1 << 20
    with pytest.raises(compression.CorruptCompressedData, match="decompresses to over"):
        compression.decompress(compression.ZSTD, bomb)


def test_gzip_header_is_kafkas():
    """Java's GZIPOutputStream header: no modification time, no extra flags, unknown OS."""
    out = compression.compress(compression.GZIP, b"record bytes" * 10)
    assert out[:10] == bytes.fromhex("1f8b08000000000000ff")
    assert compression.compress(compression.GZIP, b"record bytes" * 10) == out
