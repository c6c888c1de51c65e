"""What an aiokafka (0.14) consumer knows of a topic's partitions.

aiokafka bootstraps with Metadata v5 and an empty topic list (no topics), and ``topics()``
fetches every topic into a cluster view of its own, so right after ``start()`` and
``topics()`` ``partitions_for_topic`` is None against Apache Kafka 4.4 as well. The
partitions are known once the consumer's own metadata covers the topic: when it is
subscribed, or after its periodic refresh (Metadata v5, null topic list).
"""

from __future__ import annotations

import asyncio

from aiokafka import AIOKafkaConsumer

from tests.integration.test_groups import make_topic


async def _until(predicate, timeout=15.0):
    """Wait for ``predicate()`` to be truthy, checking every 50 ms, up to ``timeout``."""
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.05)


def test_subscribed_consumer_knows_partitions(broker, topic_name):
    make_topic(broker.bootstrap, topic_name, 2)

    async def main():
        c = AIOKafkaConsumer(topic_name, bootstrap_servers=broker.bootstrap)
        await c.start()
        try:
            assert topic_name in await c.topics()
            return c.partitions_for_topic(topic_name)
        finally:
            await c.stop()

    assert asyncio.run(main()) == {0, 1}


def test_metadata_refresh_finds_partitions(broker, topic_name):
    make_topic(broker.bootstrap, topic_name, 2)

    async def main():
        c = AIOKafkaConsumer(bootstrap_servers=broker.bootstrap, metadata_max_age_ms=100)
        await c.start()
        try:
            assert topic_name in await c.topics()
            await _until(lambda: c.partitions_for_topic(topic_name))
            return c.partitions_for_topic(topic_name)
        finally:
            await c.stop()

    assert asyncio.run(main()) == {0, 1}
