"""Transactions (KIP-98): transactional producers and read_committed consumers."""

from __future__ import annotations

import pytest

from conformance import drivers
from conformance.raw import create_topic, unique

pytestmark = pytest.mark.area("transactions")


@pytest.mark.kafka("KIP-98 transactions")
@pytest.mark.xfail(reason="issue 7: transactions not implemented yet", strict=False)
def test_committed_transaction_visible(bootstrap, wire):
    """Records of a committed transaction reach read_committed consumers."""
    drivers.require("confluent-kafka")
    from confluent_kafka import Producer

    name = unique("txn")
    create_topic(wire, name, 1)
    p = Producer({"bootstrap.servers": bootstrap, "transactional.id": unique("tid")})
    p.init_transactions(10)
    p.begin_transaction()
    p.produce(name, value=b"in-txn")
    p.commit_transaction(10)
    got = drivers.consume("confluent-kafka", bootstrap, name, 1, timeout=10)
    assert [v for _, v, _ in got] == [b"in-txn"]


@pytest.mark.kafka("KIP-98 transactions")
@pytest.mark.xfail(reason="issue 7: transactions not implemented yet", strict=False)
def test_aborted_transaction_invisible(bootstrap, wire):
    """Records of an aborted transaction never reach read_committed consumers."""
    drivers.require("confluent-kafka")
    from confluent_kafka import Consumer, Producer, TopicPartition

    name = unique("txn")
    create_topic(wire, name, 1)
    p = Producer({"bootstrap.servers": bootstrap, "transactional.id": unique("tid")})
    p.init_transactions(10)
    p.begin_transaction()
    p.produce(name, value=b"aborted")
    p.abort_transaction(10)
    p.begin_transaction()
    p.produce(name, value=b"kept")
    p.commit_transaction(10)
    c = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": unique("g"),
            "isolation.level": "read_committed",
            "auto.offset.reset": "earliest",
        }
    )
    c.assign([TopicPartition(name, 0, 0)])
    msg = c.poll(10)
    c.close()
    assert msg is not None and msg.value() == b"kept"
