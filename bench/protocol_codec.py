"""Codec micro-benchmark: the two hot paths that carry record batches.

    python bench/protocol_codec.py

Prints microseconds per decode of a ProduceRequest carrying a 1 MiB batch (by the generated
decoder and by kpy.protocol.produce_codec, which dispatch uses for Produce), per read and
answer of a Produce request for 10 partitions, and per encode (encode_into) of a
FetchResponse carrying 1 MiB of batches, and shows that none copies the batch bytes: the
decoded records are views of the request buffer, and the encoded response hands the
original batch objects over as chunks.
"""

from __future__ import annotations

import sys
import timeit
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from kpy.protocol import framing, produce_codec  # noqa: E402
from kpy.protocol.messages.fetch import FetchResponse  # noqa: E402
from kpy.protocol.messages.metadata import MetadataResponse  # noqa: E402
from kpy.protocol.messages.produce import ProduceRequest  # noqa: E402

MIB = 1 << 20


def best_us(fn, number: int) -> float:
    return min(timeit.repeat(fn, number=number, repeat=7)) / number * 1e6


def produce_request_frame() -> bytes:
    batch = bytes(MIB)
    req = ProduceRequest(
        acks=-1,
        timeout_ms=30000,
        topic_data=[
            ProduceRequest.TopicProduceData(
                name="bench",
                partition_data=[ProduceRequest.PartitionProduceData(index=0, records=batch)],
            )
        ],
    )
    return framing.encode_request(0, 9, 1, "bench", req)[4:]


def produce_request_10_partitions() -> bytes:
    batch = bytes(16 * 1024)
    req = ProduceRequest(
        acks=-1,
        timeout_ms=30000,
        topic_data=[
            ProduceRequest.TopicProduceData(
                name="bench",
                partition_data=[
                    ProduceRequest.PartitionProduceData(index=p, records=batch) for p in range(10)
                ],
            )
        ],
    )
    return framing.encode_request(0, 11, 1, "bench", req)[4:]


def fetch_response(batches: list[bytearray]) -> FetchResponse:
    per_partition = len(batches) // 4
    return FetchResponse(
        responses=[
            FetchResponse.FetchableTopicResponse(
                topic="bench",
                topic_id=uuid.UUID(int=1),
                partitions=[
                    FetchResponse.PartitionData(
                        partition_index=p,
                        high_watermark=1000,
                        last_stable_offset=1000,
                        log_start_offset=0,
                        records=memoryview(
                            b"".join(batches[p * per_partition : (p + 1) * per_partition])
                        ),
                    )
                    for p in range(4)
                ],
            )
        ]
    )


def metadata_response() -> MetadataResponse:
    return MetadataResponse(
        brokers=[MetadataResponse.MetadataResponseBroker(node_id=1, host="localhost", port=9092)],
        topics=[
            MetadataResponse.MetadataResponseTopic(
                name=f"topic-{t}",
                topic_id=uuid.UUID(int=t + 1),
                partitions=[
                    MetadataResponse.MetadataResponsePartition(
                        partition_index=p, leader_id=1, replica_nodes=[1], isr_nodes=[1]
                    )
                    for p in range(10)
                ],
            )
            for t in range(100)
        ],
    )


def main() -> int:
    frame = bytearray(produce_request_frame())
    header, req = framing.decode_request(frame)
    records = req.topic_data[0].partition_data[0].records
    zero_copy_in = isinstance(records, memoryview) and records.obj is frame
    decode_us = best_us(lambda: framing.decode_request(frame), 2000)
    body = memoryview(frame)[framing.decode_request_header(frame)[1] :]
    body_us = best_us(lambda: ProduceRequest.decode(body, 9), 2000)
    print(f"decode ProduceRequest v9, 1 MiB batch (frame with header): {decode_us:8.2f} us")
    print(f"decode ProduceRequest v9, 1 MiB batch (body only):          {body_us:8.2f} us")
    print(f"  records field is a view of the request frame (no copy):   {zero_copy_in}")
    codec_us = best_us(lambda: produce_codec.parse(frame), 2000)
    view = produce_codec.parse(frame)
    codec_zero_copy = view is not None and view.topics[0][1][0][1].obj is frame
    print(f"read by produce_codec.parse (frame with header):            {codec_us:8.2f} us")
    print(f"  records are a view of the request frame (no copy):        {codec_zero_copy}")
    zero_copy_in = zero_copy_in and codec_zero_copy

    ten = bytearray(produce_request_10_partitions())
    generated_us = best_us(lambda: framing.decode_request(ten), 2000)
    codec_ten_us = best_us(lambda: produce_codec.parse(ten), 2000)
    print(
        f"ProduceRequest v11, 10 partitions x 16 KiB: generated decoder {generated_us:.2f} us,"
        f" produce_codec {codec_ten_us:.2f} us"
    )
    outcomes = [("bench", [(p, 0, 1000 * p, -1, 0, None) for p in range(10)])]
    answer_us = best_us(
        lambda: framing.encode_response(1, 0, 11, produce_codec.ProduceAnswer(outcomes)), 2000
    )
    generated_answer_us = best_us(
        lambda: framing.encode_response(1, 0, 11, produce_codec.response_of(outcomes)), 2000
    )
    print(
        f"ProduceResponse v11, 10 partitions: generated encoder {generated_answer_us:.2f} us,"
        f" ProduceAnswer (packed) {answer_us:.2f} us"
    )

    batches = [bytearray(16 * 1024) for _ in range(64)]  # 64 x 16 KiB = 1 MiB
    resp = fetch_response(batches)
    originals = [p.records for t in resp.responses for p in t.partitions]

    def encode() -> list:
        out: list = []
        resp.encode_into(out, 12)
        return out

    chunks = encode()
    zero_copy_out = all(any(c is r for c in chunks) for r in originals)
    encode_us = best_us(encode, 2000)
    frame_us = best_us(lambda: framing.encode_response(1, 1, 12, resp), 2000)
    total = sum(len(c) for c in chunks)
    print(f"encode_into FetchResponse v12, 1 MiB in 4 partitions:        {encode_us:8.2f} us")
    print(f"encode_response (frame with header), same response:         {frame_us:8.2f} us")
    print(
        f"  {len(chunks)} chunks, {total} bytes; records chunks are the originals: {zero_copy_out}"
    )

    meta = metadata_response()
    wire = meta.encode(12)
    print(
        f"MetadataResponse v12, 100 topics x 10 partitions: encode "
        f"{best_us(lambda: meta.encode(12), 50):.0f} us, decode "
        f"{best_us(lambda: MetadataResponse.decode(wire, 12), 50):.0f} us"
    )
    return 0 if zero_copy_in and zero_copy_out else 1


if __name__ == "__main__":
    sys.exit(main())
