"""DescribeConfigs answered as Apache Kafka 4.4 answers it, where the differential harness found
kpy answering otherwise; each test runs against kpy and the reference Kafka alike. A resource
of a type Kafka does not know refuses the whole request (INVALID_REQUEST for every resource,
no configs); an empty or illegal topic name is INVALID_TOPIC_EXCEPTION; a topic key lists its
broker synonyms only from the first one's own value on (none while that one is unset, so
segment.ms lists neither log.roll.ms nor log.roll.hours); a broker logger resource names a
broker (no cluster default)."""

from __future__ import annotations

import pytest

from conformance.raw import create_topic
from conformance.wire import WireClient
from kpy.protocol.messages.describe_configs import DescribeConfigsRequest

INVALID_TOPIC_EXCEPTION = 17
UNKNOWN_TOPIC_OR_PARTITION = 3
INVALID_REQUEST = 42
TOPIC, BROKER, BROKER_LOGGER = 2, 4, 8
RES = DescribeConfigsRequest.DescribeConfigsResource

pytestmark = pytest.mark.timeout(60)


def describe(wire, resources, *, version=4):
    req = DescribeConfigsRequest(
        resources=[
            RES(resource_type=t, resource_name=n, configuration_keys=k) for t, n, k in resources
        ],
        include_synonyms=True,
    )
    return wire.send(req, version).results


@pytest.mark.parametrize("unknown_type", [0, 1, 3, 99])
def test_unknown_resource_type_refuses_the_whole_request(bootstrap, topic_name, unknown_type):
    with WireClient(bootstrap) as wire:
        create_topic(wire, topic_name, 1)
        results = describe(
            wire,
            [
                (TOPIC, topic_name, ["segment.bytes"]),
                (unknown_type, "x", None),
                (BROKER, "", None),
            ],
        )
        assert [(r.resource_type, r.resource_name, r.error_code) for r in results] == [
            (TOPIC, topic_name, INVALID_REQUEST),
            (unknown_type, "x", INVALID_REQUEST),
            (BROKER, "", INVALID_REQUEST),
        ]
        assert all(r.configs == [] for r in results)


@pytest.mark.parametrize("name", ["", "bad name!", ".", "a" * 250])
def test_illegal_topic_name_is_invalid_topic(bootstrap, topic_name, name):
    with WireClient(bootstrap) as wire:
        create_topic(wire, topic_name, 1)
        results = describe(
            wire,
            [(TOPIC, name, None), (TOPIC, f"{topic_name}-none", None), (TOPIC, topic_name, ["x"])],
        )
        assert [r.error_code for r in results] == [
            INVALID_TOPIC_EXCEPTION,
            UNKNOWN_TOPIC_OR_PARTITION,
            0,
        ]
        assert results[0].configs == [] and results[1].configs == []


def test_topic_synonyms_start_at_the_first_broker_key(bootstrap, topic_name):
    """log.roll.ms, log.retention.ms, log.roll.jitter.ms and log.flush.interval.ms have no
    value (nor default) on either broker, so their hour-based or scheduler synonyms, which
    have defaults, are not listed either."""
    keys = ["segment.ms", "retention.ms", "segment.jitter.ms", "flush.ms", "cleanup.policy"]
    with WireClient(bootstrap) as wire:
        create_topic(wire, topic_name, 1)
        (result,) = describe(wire, [(TOPIC, topic_name, keys)])
        assert result.error_code == 0
        got = {
            c.name: (c.value, c.config_source, [(s.name, s.value, s.source) for s in c.synonyms])
            for c in result.configs
        }
        assert got == {
            "segment.ms": ("604800000", 5, []),
            "retention.ms": ("604800000", 5, []),
            "segment.jitter.ms": ("0", 5, []),
            "flush.ms": ("9223372036854775807", 5, []),
            "cleanup.policy": ("delete", 5, [("log.cleanup.policy", "delete", 5)]),
        }


def test_broker_logger_needs_a_broker_id(bootstrap):
    with WireClient(bootstrap) as wire:
        results = describe(wire, [(BROKER_LOGGER, "", None), (BROKER, "", ["x"])])
        assert [r.error_code for r in results] == [INVALID_REQUEST, 0]
        assert results[0].configs == []
