"""DescribeConfigs (32), AlterConfigs (33) and IncrementalAlterConfigs (44) against an
in-process broker: what is described, and that an alteration takes effect on the next request
(and after a restart)."""

from __future__ import annotations

import pytest

from kpy.protocol.error_codes import ErrorCode
from kpy.protocol.messages.alter_configs import AlterConfigsRequest
from kpy.protocol.messages.describe_configs import DescribeConfigsRequest
from kpy.protocol.messages.incremental_alter_configs import IncrementalAlterConfigsRequest
from kpy.testing import in_process_broker
from tests.handlers.helpers import batch, create_topic, produce

pytestmark = pytest.mark.timeout(30)

TOPIC, BROKER, BROKER_LOGGER = 2, 4, 8
# Kafka's ConfigSource values.
DYNAMIC_TOPIC, DYNAMIC_BROKER, DYNAMIC_DEFAULT_BROKER, STATIC_BROKER, DEFAULT = 1, 2, 3, 4, 5
SET, DELETE, APPEND, SUBTRACT = 0, 1, 2, 3


def describe(resource_type: int, name: str, keys: list[str] | None = None, synonyms=False):
    return DescribeConfigsRequest(
        resources=[
            DescribeConfigsRequest.DescribeConfigsResource(
                resource_type=resource_type, resource_name=name, configuration_keys=keys
            )
        ],
        include_synonyms=synonyms,
    )


def alter(resource_type: int, name: str, values: dict[str, str | None], validate_only=False):
    return AlterConfigsRequest(
        resources=[
            AlterConfigsRequest.AlterConfigsResource(
                resource_type=resource_type,
                resource_name=name,
                configs=[
                    AlterConfigsRequest.AlterableConfig(name=k, value=v) for k, v in values.items()
                ],
            )
        ],
        validate_only=validate_only,
    )


def incremental(resource_type: int, name: str, *ops: tuple[str, int, str | None]):
    return IncrementalAlterConfigsRequest(
        resources=[
            IncrementalAlterConfigsRequest.AlterConfigsResource(
                resource_type=resource_type,
                resource_name=name,
                configs=[
                    IncrementalAlterConfigsRequest.AlterableConfig(
                        name=k, config_operation=op, value=v
                    )
                    for k, op, v in ops
                ],
            )
        ]
    )


async def configs_of(c, resource_type: int, name: str, keys=None, synonyms=False) -> dict:
    result = (await c.send(describe(resource_type, name, keys, synonyms), 4)).results[0]
    assert result.error_code == 0, result.error_message
    return {e.name: e for e in result.configs}


# -- DescribeConfigs ----------------------------------------------------------------------------


async def test_topic_configs_name_where_each_value_comes_from(tmp_path):
    async with in_process_broker(tmp_path, log_retention_ms=3_600_000) as b, b.connect() as c:
        await create_topic(c, "t", 1, {"segment.bytes": "1048576"})
        entries = await configs_of(c, TOPIC, "t", synonyms=True)
        own, broker_set, default = (
            entries["segment.bytes"],
            entries["retention.ms"],
            entries["cleanup.policy"],
        )
        assert (own.value, own.config_source, own.is_default) == ("1048576", DYNAMIC_TOPIC, False)
        assert [(s.name, s.source) for s in own.synonyms][0] == ("segment.bytes", DYNAMIC_TOPIC)
        assert (broker_set.value, broker_set.config_source) == ("3600000", STATIC_BROKER)
        assert ("log.retention.ms", "3600000", STATIC_BROKER) in [
            (s.name, s.value, s.source) for s in broker_set.synonyms
        ]
        assert (default.value, default.config_source) == ("delete", DEFAULT)
        v0 = (await c.send(describe(TOPIC, "t", ["cleanup.policy", "segment.bytes"]), 0)).results
        assert {e.name: e.is_default for e in v0[0].configs} == {
            "cleanup.policy": True,
            "segment.bytes": False,
        }
        assert not any(e.is_sensitive for e in entries.values())
        # Synonyms only when asked; keys filter; an empty list of keys is every key.
        plain = await configs_of(c, TOPIC, "t", ["retention.ms", "no.such.key"])
        assert list(plain) == ["retention.ms"] and plain["retention.ms"].synonyms == []
        assert (await configs_of(c, TOPIC, "t", [])).keys() == entries.keys()


async def test_describe_refusals(tmp_path):
    async with in_process_broker(tmp_path) as b, b.connect() as c:
        request = DescribeConfigsRequest(
            resources=[
                DescribeConfigsRequest.DescribeConfigsResource(resource_type=t, resource_name=n)
                for t, n in (
                    (TOPIC, "missing"),
                    (TOPIC, "bad name"),
                    (BROKER, "2"),
                    (BROKER, "one"),
                    (BROKER_LOGGER, ""),
                    (BROKER_LOGGER, "1"),
                )
            ]
        )
        answer = await c.send(request, 4)
        assert [(r.error_code, len(r.configs)) for r in answer.results] == [
            (ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, 0),
            (ErrorCode.INVALID_TOPIC_EXCEPTION, 0),
            (ErrorCode.INVALID_REQUEST, 0),
            (ErrorCode.INVALID_REQUEST, 0),
            (ErrorCode.INVALID_REQUEST, 0),
            (0, 0),  # no loggers
        ]
        # A type Kafka does not know refuses every resource of the request.
        request.resources[5].resource_type = 3
        answer = await c.send(request, 4)
        assert {r.error_code for r in answer.results} == {ErrorCode.INVALID_REQUEST}


async def test_broker_configs_this_broker_and_the_cluster_default(tmp_path):
    async with in_process_broker(tmp_path, num_partitions=3) as b, b.connect() as c:
        entries = await configs_of(c, BROKER, "1")
        assert (entries["num.partitions"].value, entries["num.partitions"].config_source) == (
            "3",
            STATIC_BROKER,
        )
        # The cluster default lists only what is set at that level (Kafka 4.4 formats a
        # cluster with min.insync.replicas set there).
        assert list(await configs_of(c, BROKER, "")) == ["min.insync.replicas"]
        request = incremental(BROKER, "", ("log.retention.ms", SET, "5000"))
        assert (await c.send(request, 1)).responses[0].error_code == 0
        default_level = await configs_of(c, BROKER, "")
        assert (
            default_level["log.retention.ms"].value,
            default_level["log.retention.ms"].config_source,
        ) == ("5000", DYNAMIC_DEFAULT_BROKER)
        topic = await create_topic(c, "t")
        assert {e.name: e.value for e in topic.configs}["retention.ms"] == "5000"


# -- AlterConfigs -------------------------------------------------------------------------------


async def test_alter_configs_replaces_the_whole_set_and_applies_at_once(tmp_path):
    async with in_process_broker(tmp_path) as b, b.connect() as c:
        await create_topic(c, "t", 1, {"retention.ms": "1000"})
        answer = await c.send(alter(TOPIC, "t", {"max.message.bytes": "200"}), 2)
        assert answer.responses[0].error_code == 0
        assert b.broker.metadata.get("t").configs == {"max.message.bytes": "200"}
        entries = await configs_of(c, TOPIC, "t")
        assert entries["retention.ms"].config_source == DEFAULT
        assert (await produce(c, "t", batch(20))).error_code == ErrorCode.MESSAGE_TOO_LARGE
        # validate_only changes nothing.
        check = await c.send(alter(TOPIC, "t", {}, validate_only=True), 2)
        assert check.responses[0].error_code == 0
        assert b.broker.metadata.get("t").configs == {"max.message.bytes": "200"}


async def test_alter_configs_refusals_change_nothing(tmp_path):
    async with in_process_broker(tmp_path) as b, b.connect() as c:
        await create_topic(c, "t", 1, {"retention.ms": "1000"})
        for request, code in (
            (alter(TOPIC, "t", {"retention.ms": "soon"}), ErrorCode.INVALID_CONFIG),
            (alter(TOPIC, "t", {"no.such.key": "1"}), ErrorCode.INVALID_CONFIG),
            (alter(TOPIC, "t", {"retention.ms": None}), ErrorCode.INVALID_REQUEST),
            (alter(TOPIC, "missing", {"retention.ms": "5"}), ErrorCode.UNKNOWN_TOPIC_OR_PARTITION),
            (alter(TOPIC, "", {"retention.ms": "5"}), ErrorCode.INVALID_REQUEST),
            (alter(BROKER, "2", {"max.connections": "5"}), ErrorCode.INVALID_REQUEST),
            (alter(BROKER_LOGGER, "1", {"kafka": "DEBUG"}), ErrorCode.INVALID_REQUEST),
        ):
            answer = await c.send(request, 2)
            assert answer.responses[0].error_code == code, request
        twice = alter(TOPIC, "t", {"retention.ms": "5"})
        twice.resources *= 2
        answer = await c.send(twice, 2)
        assert [r.error_code for r in answer.responses] == [ErrorCode.INVALID_REQUEST] * 2
        assert b.broker.metadata.get("t").configs == {"retention.ms": "1000"}


async def test_broker_config_takes_effect_and_survives_a_restart(tmp_path):
    async with in_process_broker(tmp_path) as b, b.connect() as c:
        await create_topic(c, "t")
        request = incremental(BROKER, "", ("message.max.bytes", SET, "200"))
        assert (await c.send(request, 1)).responses[0].error_code == 0
        # The cluster default reaches the topic's effective max.message.bytes at once.
        assert (await produce(c, "t", batch(20))).error_code == ErrorCode.MESSAGE_TOO_LARGE
        answer = await c.send(alter(BROKER, "1", {"max.connections": "7"}), 2)
        assert answer.responses[0].error_code == 0
        assert b.broker.config.get("max.connections") == 7
    async with in_process_broker(tmp_path) as b, b.connect() as c:
        assert b.broker.config.get("max.connections") == 7
        assert b.broker.config.get("message.max.bytes") == 200
        assert (await produce(c, "t", batch(20))).error_code == ErrorCode.MESSAGE_TOO_LARGE


# -- IncrementalAlterConfigs --------------------------------------------------------------------


async def test_incremental_operations_on_a_topic(tmp_path):
    async with in_process_broker(tmp_path) as b, b.connect() as c:
        await create_topic(c, "t", 1, {"retention.ms": "1000"})

        async def apply(*ops) -> int:
            return (await c.send(incremental(TOPIC, "t", *ops), 1)).responses[0].error_code

        assert await apply(("cleanup.policy", APPEND, "compact"), ("segment.ms", SET, "60000")) == 0
        assert b.broker.metadata.get("t").configs == {
            "retention.ms": "1000",
            "cleanup.policy": "delete,compact",
            "segment.ms": "60000",
        }
        assert (
            await apply(("cleanup.policy", SUBTRACT, "delete"), ("retention.ms", DELETE, None)) == 0
        )
        assert b.broker.metadata.get("t").configs == {
            "cleanup.policy": "compact",
            "segment.ms": "60000",
        }
        # A compacted topic refuses records without a key.
        refused = await produce(c, "t", batch(key=None))
        assert refused.error_code == ErrorCode.INVALID_RECORD
        assert await apply(("retention.ms", APPEND, "5")) == ErrorCode.INVALID_CONFIG
        assert await apply(("retention.ms", SET, None)) == ErrorCode.INVALID_REQUEST
        assert b.broker.metadata.get("t").configs["segment.ms"] == "60000"


async def test_an_unknown_topic_operation_fails_every_resource_checked(tmp_path):
    async with in_process_broker(tmp_path) as b, b.connect() as c:
        await create_topic(c, "t")
        await create_topic(c, "u")
        request = incremental(TOPIC, "t", ("retention.ms", 9, "5"))
        request.resources += incremental(TOPIC, "u", ("retention.ms", SET, "5")).resources
        request.resources += incremental(BROKER, "1", ("max.connections", SET, "3")).resources
        answer = await c.send(request, 1)
        assert [r.error_code for r in answer.responses] == [ErrorCode.UNKNOWN_SERVER_ERROR] * 3
        assert b.broker.metadata.get("u").configs == {}
        assert b.broker.config.get("max.connections") != 3


async def test_incremental_broker_and_logger_resources(tmp_path):
    async with in_process_broker(tmp_path) as b, b.connect() as c:

        async def apply(resource_type: int, name: str, *ops) -> int:
            request = incremental(resource_type, name, *ops)
            return (await c.send(request, 1)).responses[0].error_code

        assert await apply(BROKER, "1", ("max.connections", SET, "9")) == 0
        assert b.broker.config.get("max.connections") == 9
        entries = await configs_of(c, BROKER, "1", ["max.connections"])
        assert entries["max.connections"].config_source == DYNAMIC_BROKER
        assert await apply(BROKER, "1", ("max.connections", DELETE, None)) == 0
        assert not b.broker.config.is_set("max.connections")
        assert await apply(BROKER, "1", ("num.partitions", APPEND, "2")) == ErrorCode.INVALID_CONFIG
        # Kafka 4.4 keeps a broker key it does not know, but cannot append to one.
        assert await apply(BROKER, "", ("no.such.key", SET, "1")) == 0
        assert await apply(BROKER, "", ("no.such.key", APPEND, "1")) == ErrorCode.INVALID_CONFIG
        assert await apply(BROKER_LOGGER, "1", ("kafka", SET, "DEBUG")) == ErrorCode.INVALID_CONFIG
        assert await apply(BROKER_LOGGER, "1", ("kafka", APPEND, "x")) == ErrorCode.INVALID_REQUEST
        assert await apply(BROKER_LOGGER, "", ("kafka", SET, "x")) == ErrorCode.INVALID_REQUEST
