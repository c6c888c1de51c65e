"""kpy answers as Apache Kafka 4.4 does: a reduced differential run (conformance/differential.py).

One generated sequence per API version both brokers advertise (the simplest valid request
hypothesis draws, from a fixed seed), plus the replayed requests of a few conformance checks,
against the run's Apache Kafka reference broker (``kafka_reference``: shared, so sequences use
names of their own and listings are filtered to them) and a fresh kpy. Every divergence must
be fixed or listed in conformance/differential_allow.toml with its reason; `make differential`
runs the full harness.
"""

from __future__ import annotations

import pytest

from conformance import differential
from kpy.testing import BrokerProcess

CHECKS = "test_metadata_every_version or test_topic_ids or test_pipelined_requests_answer_in_order"


@pytest.fixture(scope="module")
def kpy(tmp_path_factory):
    data = tmp_path_factory.mktemp("kpy") / "data"
    with BrokerProcess(data, overrides=differential.KPY_OVERRIDES) as proc:
        yield proc


@pytest.mark.timeout(400)
def test_kpy_answers_like_kafka(kafka_reference, kpy):
    report = differential.run(
        kafka_reference, kpy.bootstrap, examples=1, seed=0, checks_filter=CHECKS
    )
    print(report.summary())
    assert report.sequences["captured"] > 0 and report.sequences["generated"] > 100
    assert len(report.requests) >= 150, "every API version both brokers advertise"
    unexplained = "\n".join(differential.grouped(report.unexplained))
    assert not report.unexplained, f"divergences from Apache Kafka:\n{unexplained}"
