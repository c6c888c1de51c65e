"""AlterConfigs and IncrementalAlterConfigs answered as Apache Kafka 4.4 answers them, where the
differential harness found kpy answering otherwise; each test runs against kpy and the reference
Kafka alike (topic resources only: the reference broker is shared). The broker's checks come
first (a resource named twice, a key given twice, a null value, an unknown resource type: all
INVALID_REQUEST), then the controller's: an unknown operation fails the whole request
(UNKNOWN_SERVER_ERROR), then APPEND to a key that is not a list, the topic name ('' is
INVALID_REQUEST, an illegal one INVALID_TOPIC_EXCEPTION), the keys and values (INVALID_CONFIG),
and only then whether the topic exists. A broker logger is answered by the broker itself;
min.insync.replicas stays cluster-wide (eligible leader replicas on)."""

from __future__ import annotations

import uuid

import pytest

from conformance.raw import create_topic
from conformance.wire import WireClient
from kpy.protocol.messages.alter_configs import AlterConfigsRequest
from kpy.protocol.messages.describe_configs import DescribeConfigsRequest
from kpy.protocol.messages.incremental_alter_configs import IncrementalAlterConfigsRequest
from kpy.protocol.messages.metadata import MetadataRequest

UNKNOWN_SERVER_ERROR = -1
UNKNOWN_TOPIC_OR_PARTITION = 3
INVALID_TOPIC_EXCEPTION = 17
INVALID_CONFIG = 40
INVALID_REQUEST = 42
SET, DELETE, APPEND = 0, 1, 2
R = AlterConfigsRequest.AlterConfigsResource
C = AlterConfigsRequest.AlterableConfig
IR = IncrementalAlterConfigsRequest.AlterConfigsResource
IC = IncrementalAlterConfigsRequest.AlterableConfig

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def name(topic_name):
    return f"{topic_name}-{uuid.uuid4().hex[:8]}"


def alter(wire, resources, *, validate_only=False, version=2):
    req = AlterConfigsRequest(resources=resources, validate_only=validate_only)
    return [r.error_code for r in wire.send(req, version).responses]


def incremental(wire, resources, *, validate_only=False, version=1):
    req = IncrementalAlterConfigsRequest(resources=resources, validate_only=validate_only)
    return [r.error_code for r in wire.send(req, version).responses]


def retention_ms(wire, name):
    res = DescribeConfigsRequest.DescribeConfigsResource(
        resource_type=2, resource_name=name, configuration_keys=["retention.ms"]
    )
    (result,) = wire.send(DescribeConfigsRequest(resources=[res]), 4).results
    return result.configs[0].value


@pytest.mark.parametrize("version", [0, 2])
def test_alter_configs_checks_before_the_topic_is_looked_up(bootstrap, name, version):
    missing = f"{name}-missing"
    with WireClient(bootstrap) as wire:
        create_topic(wire, name)
        cases = [
            (R(resource_type=99, resource_name=name), INVALID_REQUEST),
            (R(resource_type=8, resource_name="1"), INVALID_REQUEST),
            (R(resource_type=2, resource_name=""), INVALID_REQUEST),
            (R(resource_type=2, resource_name="bad name!"), INVALID_TOPIC_EXCEPTION),
            (R(resource_type=2, resource_name=missing, configs=[C(name="bogus", value="1")]),
             INVALID_CONFIG),
            (R(resource_type=2, resource_name=missing,
               configs=[C(name="retention.ms", value="abc")]), INVALID_CONFIG),
            (R(resource_type=2, resource_name=missing,
               configs=[C(name="retention.ms", value=None)]), INVALID_REQUEST),
            (R(resource_type=2, resource_name=name, configs=[C(name="retention.ms", value=None)]),
             INVALID_REQUEST),
            (R(resource_type=2, resource_name=name,
               configs=[C(name="retention.ms", value="1"), C(name="retention.ms", value="2")]),
             INVALID_REQUEST),
            (R(resource_type=2, resource_name=missing), UNKNOWN_TOPIC_OR_PARTITION),
        ]  # fmt: skip
        for resource, code in cases:
            assert alter(wire, [resource], validate_only=True, version=version) == [code]


def test_incremental_alter_configs_refuses_a_resource_named_twice(bootstrap, name):
    """(Kafka 4.4 never answers an AlterConfigs naming a resource twice.)"""
    with WireClient(bootstrap) as wire:
        create_topic(wire, name)
        set_retention = [IC(name="retention.ms", config_operation=SET, value="1234")]
        resources = [
            IR(resource_type=2, resource_name=name, configs=set_retention),
            IR(resource_type=2, resource_name=name, configs=set_retention),
            IR(resource_type=2, resource_name=f"{name}-missing"),
        ]
        codes = incremental(wire, resources)
        assert codes == [INVALID_REQUEST, INVALID_REQUEST, UNKNOWN_TOPIC_OR_PARTITION]
        assert retention_ms(wire, name) == "604800000"


@pytest.mark.parametrize("version", [0, 1])
def test_incremental_alter_configs_checks_before_the_topic_is_looked_up(bootstrap, name, version):
    missing = f"{name}-missing"
    with WireClient(bootstrap) as wire:
        create_topic(wire, name)
        cases = [
            (IR(resource_type=99, resource_name=name), INVALID_REQUEST),
            (IR(resource_type=2, resource_name=""), INVALID_REQUEST),
            (IR(resource_type=2, resource_name="bad name!"), INVALID_TOPIC_EXCEPTION),
            (IR(resource_type=2, resource_name="",
                configs=[IC(name="retention.ms", config_operation=APPEND, value="1")]),
             INVALID_CONFIG),
            (IR(resource_type=2, resource_name=missing,
                configs=[IC(name="bogus", config_operation=SET, value="1")]), INVALID_CONFIG),
            (IR(resource_type=2, resource_name=missing,
                configs=[IC(name="retention.ms", config_operation=SET, value="abc")]),
             INVALID_CONFIG),
            (IR(resource_type=2, resource_name=missing,
                configs=[IC(name="retention.ms", config_operation=SET, value=None)]),
             INVALID_REQUEST),
            (IR(resource_type=2, resource_name=name,
                configs=[IC(name="cleanup.policy", config_operation=APPEND, value=None)]),
             INVALID_REQUEST),
            (IR(resource_type=2, resource_name=name,
                configs=[IC(name="bogus", config_operation=DELETE, value=None)]), 0),
            (IR(resource_type=2, resource_name=missing,
                configs=[IC(name="retention.ms", config_operation=SET, value="1"),
                         IC(name="retention.ms", config_operation=DELETE, value="1")]),
             INVALID_REQUEST),
            (IR(resource_type=2, resource_name=missing), UNKNOWN_TOPIC_OR_PARTITION),
        ]  # fmt: skip
        for resource, code in cases:
            assert incremental(wire, [resource], validate_only=True, version=version) == [code]


@pytest.mark.parametrize("operation", [-1, 9])
def test_incremental_alter_configs_unknown_operation_fails_the_request(bootstrap, name, operation):
    """Every topic resource fails with the one of unknown operation, none is altered; a
    resource the broker refuses first keeps its own error."""
    with WireClient(bootstrap) as wire:
        create_topic(wire, name)
        resources = [
            IR(resource_type=2, resource_name=name,
               configs=[IC(name="retention.ms", config_operation=SET, value="1234")]),
            IR(resource_type=2, resource_name=f"{name}-missing",
               configs=[IC(name="retention.ms", config_operation=operation, value="1")]),
            IR(resource_type=99, resource_name=name),
        ]  # fmt: skip
        codes = incremental(wire, resources)
        assert codes == [UNKNOWN_SERVER_ERROR, UNKNOWN_SERVER_ERROR, INVALID_REQUEST]
        assert retention_ms(wire, name) == "604800000"


def test_min_insync_replicas_stays_cluster_wide(broker):
    """Kafka 4.4 starts a cluster with eligible leader replicas on and a cluster-wide
    min.insync.replicas; its controller then refuses to remove that, or to give a broker its
    own (INVALID_CONFIG), even when only validating. kpy only: broker-wide configs of the
    shared reference broker are not touched (a validate_only AlterConfigs of its cluster
    default without configs answered INVALID_CONFIG there)."""
    with WireClient(broker.bootstrap) as wire:
        md = wire.send(MetadataRequest(topics=[], allow_auto_topic_creation=False), 12)
        node = str(md.brokers[0].node_id)
        min_isr = [C(name="min.insync.replicas", value="1")]
        for version in (0, 2):
            assert alter(wire, [R(resource_type=4, resource_name="")], validate_only=True,
                         version=version) == [INVALID_CONFIG]  # fmt: skip
            assert alter(wire, [R(resource_type=4, resource_name="", configs=min_isr)],
                         validate_only=True, version=version) == [0]  # fmt: skip
            assert alter(wire, [R(resource_type=4, resource_name=node, configs=min_isr)],
                         validate_only=True, version=version) == [INVALID_CONFIG]  # fmt: skip
        for operation, name, code in [
            (DELETE, "", INVALID_CONFIG),
            (SET, "", 0),
            (SET, node, INVALID_CONFIG),
            (DELETE, node, INVALID_CONFIG),
        ]:
            configs = [IC(name="min.insync.replicas", config_operation=operation, value="1")]
            resource = IR(resource_type=4, resource_name=name, configs=configs)
            assert incremental(wire, [resource], validate_only=True) == [code]


def test_incremental_alter_configs_of_a_broker_logger(bootstrap):
    """The broker answers a broker logger resource itself (validated only here): it names this
    broker, no default; an unknown logger is INVALID_CONFIG, APPEND, SUBTRACT and unknown
    operations INVALID_REQUEST; an unknown operation elsewhere does not fail it."""
    with WireClient(bootstrap) as wire:
        md = wire.send(MetadataRequest(topics=[], allow_auto_topic_creation=False), 12)
        node = str(md.brokers[0].node_id)
        names = [node, "", "x", str(int(node) + 1)]
        resources = [IR(resource_type=8, resource_name=n) for n in names]
        codes = incremental(wire, resources, validate_only=True)
        assert codes == [0, INVALID_REQUEST, INVALID_REQUEST, INVALID_REQUEST]
        for operation, code in [
            (SET, INVALID_CONFIG),
            (DELETE, INVALID_CONFIG),
            (APPEND, INVALID_REQUEST),
            (3, INVALID_REQUEST),
            (-1, INVALID_REQUEST),
        ]:
            configs = [IC(name="no.such.logger", config_operation=operation, value="INFO")]
            resource = IR(resource_type=8, resource_name=node, configs=configs)
            assert incremental(wire, [resource], validate_only=True) == [code]
        resources = [
            IR(resource_type=8, resource_name=node),
            IR(resource_type=2, resource_name="no-such-topic-dalterconfigs",
               configs=[IC(name="retention.ms", config_operation=9, value="1")]),
        ]  # fmt: skip
        assert incremental(wire, resources, validate_only=True) == [0, UNKNOWN_SERVER_ERROR]
