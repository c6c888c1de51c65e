"""Live connections sending mutated requests: the broker keeps serving everyone else."""

from __future__ import annotations

import random
import socket

import pytest

from conformance.wire import WireClient
from kpy.protocol import framing
from kpy.protocol.messages.api_versions import ApiVersionsRequest
from kpy.protocol.messages.fetch import FetchRequest
from kpy.protocol.messages.metadata import MetadataRequest
from kpy.protocol.messages.produce import ProduceRequest


@pytest.mark.timeout(120)
def test_mutated_requests_on_live_connections(broker):
    rng = random.Random(99)
    templates = [
        framing.encode_request(
            18, 3, 1, "f", ApiVersionsRequest(client_software_name="a", client_software_version="1")
        ),
        framing.encode_request(3, 12, 2, "f", MetadataRequest(topics=None)),
        framing.encode_request(
            0,
            9,
            3,
            "f",
            ProduceRequest(
                acks=1,
                timeout_ms=100,
                topic_data=[
                    ProduceRequest.TopicProduceData(
                        name="fz",
                        partition_data=[
                            ProduceRequest.PartitionProduceData(index=0, records=b"\x00" * 70)
                        ],
                    )
                ],
            ),
        ),
        framing.encode_request(1, 12, 4, "f", FetchRequest(max_wait_ms=10, topics=[])),
    ]
    with WireClient(broker.bootstrap) as bystander:
        for i in range(300):
            frame = bytearray(rng.choice(templates))
            for _ in range(rng.randint(1, 3)):
                pos = rng.randrange(4, len(frame))
                frame[pos] = rng.randrange(256)
            if rng.random() < 0.2:
                frame = frame[: rng.randrange(1, len(frame))]
            sock = socket.create_connection(("127.0.0.1", broker.port), timeout=5)
            try:
                sock.sendall(bytes(frame))
                sock.shutdown(socket.SHUT_WR)
                sock.settimeout(5)
                while sock.recv(65536):  # an answer or a close; never a hang
                    pass
            except (ConnectionResetError, TimeoutError) as exc:
                if isinstance(exc, TimeoutError):
                    raise AssertionError(f"broker hung on mutated request {i}") from exc
            finally:
                sock.close()
            if i % 50 == 0:
                assert bystander.send(MetadataRequest(topics=[]), 12).brokers
        assert bystander.send(MetadataRequest(topics=[]), 12).brokers
    assert broker.alive()
