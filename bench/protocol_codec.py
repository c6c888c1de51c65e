"""Codec micro-benchmark (not a test): decode a 1 MiB ProduceRequest, encode a 1 MiB
FetchResponse, in microseconds per message, and show that the batch bytes are not copied.

    python bench/protocol_codec.py
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from kpy.protocol.messages.fetch import FetchResponse  # noqa: E402
from kpy.protocol.messages.produce import ProduceRequest  # noqa: E402


def per_call_us(fn, n: int = 2000) -> float:
    started = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - started) / n * 1e6


def main() -> None:
    batch = bytearray(1 << 20)
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
    wire = memoryview(bytearray(req.encode(11)))
    decoded = ProduceRequest.decode(wire, 11)
    view = decoded.topic_data[0].partition_data[0].records
    print(
        f"ProduceRequest v11 decode, 1 MiB batch: {per_call_us(lambda: ProduceRequest.decode(wire, 11)):.1f} us"
        f"  (records is a view of the request buffer: {view.obj is wire.obj})"
    )
    resp = FetchResponse(
        responses=[
            FetchResponse.FetchableTopicResponse(
                topic="bench",
                partitions=[FetchResponse.PartitionData(partition_index=0, records=batch)],
            )
        ]
    )

    def encode() -> list:
        out: list = []
        resp.encode_into(out, 12)
        return out

    chunks = encode()
    print(
        f"FetchResponse v12 encode_into, 1 MiB records: {per_call_us(encode):.1f} us"
        f"  (records chunk is the original object: {any(c is batch for c in chunks)})"
    )


if __name__ == "__main__":
    main()
