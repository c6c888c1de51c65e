"""Metadata (3), ApiVersions (18) and FindCoordinator (10) against an in-process broker."""

from __future__ import annotations

import uuid

import pytest

from kpy.handlers import HANDLERS
from kpy.protocol.error_codes import ErrorCode
from kpy.protocol.messages.api_versions import ApiVersionsRequest
from kpy.protocol.messages.find_coordinator import FindCoordinatorRequest
from kpy.protocol.messages.metadata import MetadataRequest
from kpy.testing import in_process_broker
from tests.handlers.helpers import create_topic

pytestmark = pytest.mark.timeout(30)

UNSET_OPERATIONS = -(2**31)  # what a response carries when operations were not asked for


def by_name(*names: str) -> MetadataRequest:
    return MetadataRequest(
        topics=[MetadataRequest.MetadataRequestTopic(name=n) for n in names],
        allow_auto_topic_creation=False,
    )


async def test_every_topic_with_this_broker_leading_every_partition(tmp_path):
    async with in_process_broker(tmp_path) as b, b.connect() as c:
        await create_topic(c, "b-topic", 2)
        await create_topic(c, "a-topic", 1)
        answer = await c.send(MetadataRequest(topics=None), 12)
        host, port = b.bootstrap.rsplit(":", 1)
        assert [(n.node_id, n.host, n.port, n.rack) for n in answer.brokers] == [
            (1, host, int(port), None)
        ]
        assert answer.controller_id == 1
        assert answer.cluster_id == b.broker.metadata.cluster_id
        assert [t.name for t in answer.topics] == ["a-topic", "b-topic"]
        topic = answer.topics[1]
        assert topic.topic_id == b.broker.metadata.get("b-topic").topic_id
        assert (topic.error_code, topic.is_internal) == (0, False)
        assert [
            (p.partition_index, p.leader_id, p.leader_epoch, p.replica_nodes, p.isr_nodes)
            for p in topic.partitions
        ] == [(0, 1, 0, [1], [1]), (1, 1, 0, [1], [1])]
        assert topic.topic_authorized_operations == UNSET_OPERATIONS


async def test_an_empty_list_is_every_topic_at_v0_and_none_after(tmp_path):
    async with in_process_broker(tmp_path) as b, b.connect() as c:
        await create_topic(c, "t")
        assert [t.name for t in (await c.send(MetadataRequest(topics=[]), 0)).topics] == ["t"]
        assert (await c.send(MetadataRequest(topics=[]), 1)).topics == []
        assert (await c.send(MetadataRequest(topics=[]), 12)).topics == []


async def test_auto_creation_answers_unknown_first_and_creates_with_the_defaults(tmp_path):
    async with in_process_broker(tmp_path, num_partitions=3) as b, b.connect() as c:
        ask = MetadataRequest(
            topics=[MetadataRequest.MetadataRequestTopic(name="auto")],
            allow_auto_topic_creation=True,
        )
        first = (await c.send(ask, 12)).topics[0]
        assert (first.name, first.error_code) == ("auto", ErrorCode.UNKNOWN_TOPIC_OR_PARTITION)
        again = (await c.send(ask, 12)).topics[0]
        assert again.error_code == 0 and len(again.partitions) == 3
        assert b.broker.metadata.get("auto").partitions == 3


async def test_no_creation_when_the_request_or_the_broker_forbids_it(tmp_path):
    async with in_process_broker(tmp_path) as b, b.connect() as c:
        refused = (await c.send(by_name("not-asked-to-create"), 12)).topics[0]
        assert refused.error_code == ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
        assert refused.topic_id == uuid.UUID(int=0) and refused.partitions == []
        # Before v4 there is no flag: creation is always asked for.
        old = MetadataRequest(topics=[MetadataRequest.MetadataRequestTopic(name="v3-created")])
        assert (await c.send(old, 3)).topics[0].error_code == ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
        assert b.broker.metadata.get("v3-created") is not None
        assert b.broker.metadata.get("not-asked-to-create") is None
        internal = MetadataRequest(
            topics=[MetadataRequest.MetadataRequestTopic(name="__consumer_offsets")],
            allow_auto_topic_creation=True,
        )
        answer = (await c.send(internal, 12)).topics[0]
        assert answer.error_code == ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
        assert b.broker.metadata.get("__consumer_offsets") is None
    async with (
        in_process_broker(tmp_path / "off", auto_create_topics_enable="false") as b,
        b.connect() as c,
    ):
        ask = MetadataRequest(
            topics=[MetadataRequest.MetadataRequestTopic(name="x")], allow_auto_topic_creation=True
        )
        assert (await c.send(ask, 12)).topics[0].error_code == ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
        assert b.broker.metadata.get("x") is None


async def test_illegal_names_are_invalid_topic_and_duplicates_answered_once(tmp_path):
    async with in_process_broker(tmp_path) as b, b.connect() as c:
        await create_topic(c, "t")
        answer = await c.send(by_name("bad name", "t", "a" * 250, "t", ".."), 12)
        assert [(t.name, t.error_code) for t in answer.topics] == [
            ("bad name", ErrorCode.INVALID_TOPIC_EXCEPTION),
            ("t", 0),
            ("a" * 250, ErrorCode.INVALID_TOPIC_EXCEPTION),
            ("..", ErrorCode.INVALID_TOPIC_EXCEPTION),
        ]


async def test_topics_by_id_at_v12_and_names_then_ignored(tmp_path):
    async with in_process_broker(tmp_path) as b, b.connect() as c:
        await create_topic(c, "t", 2)
        topic_id = b.broker.metadata.get("t").topic_id
        unknown = uuid.uuid4()
        request = MetadataRequest(
            topics=[
                MetadataRequest.MetadataRequestTopic(name=None, topic_id=unknown),
                MetadataRequest.MetadataRequestTopic(
                    name="never-created", topic_id=uuid.UUID(int=0)
                ),
                MetadataRequest.MetadataRequestTopic(name=None, topic_id=topic_id),
            ],
            allow_auto_topic_creation=True,
            include_topic_authorized_operations=True,
        )
        answer = await c.send(request, 12)
        assert [(t.name, t.topic_id, t.error_code) for t in answer.topics] == [
            (None, unknown, ErrorCode.UNKNOWN_TOPIC_ID),
            ("t", topic_id, 0),
        ]
        assert answer.topics[0].topic_authorized_operations == UNSET_OPERATIONS
        assert answer.topics[1].topic_authorized_operations == 3576
        assert b.broker.metadata.get("never-created") is None


async def test_ids_before_v12_and_a_topic_with_neither_fail_the_request(tmp_path):
    async with in_process_broker(tmp_path) as b, b.connect() as c:
        with_id = MetadataRequest(
            topics=[MetadataRequest.MetadataRequestTopic(name="t", topic_id=uuid.uuid4())]
        )
        answer = await c.send(with_id, 11)
        assert [(t.name, t.error_code) for t in answer.topics] == [("t", ErrorCode.INVALID_REQUEST)]
        assert answer.brokers == [] and answer.cluster_id is None
        null_name = MetadataRequest(topics=[MetadataRequest.MetadataRequestTopic(name=None)])
        answer = await c.send(null_name, 10)
        assert [(t.name, t.error_code) for t in answer.topics] == [("", ErrorCode.INVALID_REQUEST)]
        answer = await c.send(null_name, 12)
        assert [t.error_code for t in answer.topics] == [ErrorCode.UNKNOWN_SERVER_ERROR]


async def test_cluster_operations_only_when_asked_at_v8_to_v10(tmp_path):
    async with in_process_broker(tmp_path) as b, b.connect() as c:
        ask = MetadataRequest(topics=None, include_cluster_authorized_operations=True)
        assert (await c.send(ask, 8)).cluster_authorized_operations == 8096
        assert (await c.send(ask, 10)).cluster_authorized_operations == 8096
        plain = MetadataRequest(topics=None)
        assert (await c.send(plain, 10)).cluster_authorized_operations == UNSET_OPERATIONS


async def test_internal_topics_are_flagged(tmp_path):
    async with in_process_broker(tmp_path) as b, b.connect() as c:
        await c.send(FindCoordinatorRequest(key_type=0, coordinator_keys=["g"]), 4)
        answer = await c.send(by_name("__consumer_offsets"), 12)
        topic = answer.topics[0]
        assert (topic.error_code, topic.is_internal, len(topic.partitions)) == (0, True, 3)


async def test_advertised_listener_is_what_metadata_names(tmp_path):
    advertised = {"advertised.listeners": "PLAINTEXT://broker.example:9999"}
    async with in_process_broker(tmp_path, advertised) as b, b.connect() as c:
        assert b.info.bootstrap == "broker.example:9999"
        answer = await c.send(MetadataRequest(topics=None), 12)
        assert [(n.host, n.port) for n in answer.brokers] == [("broker.example", 9999)]
        coordinator = await c.send(FindCoordinatorRequest(key_type=0, coordinator_keys=["g"]), 4)
        assert [(x.host, x.port) for x in coordinator.coordinators] == [("broker.example", 9999)]


# -- ApiVersions --------------------------------------------------------------------------------


async def test_api_versions_lists_exactly_the_handler_table(tmp_path):
    async with in_process_broker(tmp_path) as b, b.connect() as c:
        for version in (0, 3, 4):
            request = ApiVersionsRequest(
                client_software_name="kpy-tests", client_software_version="1.0"
            )
            answer = await c.send(request, version)
            assert answer.error_code == 0
            assert {k.api_key: (k.min_version, k.max_version) for k in answer.api_keys} == {
                key: (lo, hi) for key, (_, lo, hi) in HANDLERS.items()
            }


@pytest.mark.parametrize(
    ("name", "version"),
    [("", "1"), ("-starts-badly", "1"), ("ok", "ends-badly."), ("spa ce", "1"), ("ok", "")],
)
async def test_api_versions_v3_checks_the_software_name_and_version(tmp_path, name, version):
    async with in_process_broker(tmp_path) as b, b.connect() as c:
        request = ApiVersionsRequest(client_software_name=name, client_software_version=version)
        answer = await c.send(request, 3)
        assert (answer.error_code, answer.api_keys) == (ErrorCode.INVALID_REQUEST, [])
        # v2 has no such fields: the same request is answered.
        assert (await c.send(request, 2)).error_code == 0


# -- FindCoordinator ----------------------------------------------------------------------------


async def test_find_coordinator_creates_the_internal_topic_of_its_key_type(tmp_path):
    async with in_process_broker(tmp_path) as b, b.connect() as c:
        host, port = b.bootstrap.rsplit(":", 1)
        assert b.broker.metadata.get("__consumer_offsets") is None
        old = await c.send(FindCoordinatorRequest(key="g", key_type=0), 3)
        assert (old.error_code, old.node_id, old.host, old.port) == (0, 1, host, int(port))
        assert b.broker.metadata.get("__consumer_offsets").partitions == 3
        assert b.broker.metadata.get("__transaction_state") is None
        batched = await c.send(FindCoordinatorRequest(key_type=1, coordinator_keys=["a", "b"]), 4)
        assert [(x.key, x.error_code, x.node_id) for x in batched.coordinators] == [
            ("a", 0, 1),
            ("b", 0, 1),
        ]
        assert b.broker.metadata.get("__transaction_state").partitions == 3


async def test_find_coordinator_unknown_key_type_is_invalid_request(tmp_path):
    async with in_process_broker(tmp_path) as b, b.connect() as c:
        old = await c.send(FindCoordinatorRequest(key="g", key_type=7), 3)
        assert (old.error_code, old.node_id, old.host, old.port) == (
            ErrorCode.INVALID_REQUEST,
            -1,
            "",
            -1,
        )
        batched = await c.send(FindCoordinatorRequest(key_type=7, coordinator_keys=["x"]), 4)
        entry = batched.coordinators[0]
        assert (entry.key, entry.error_code, entry.node_id, entry.port) == (
            "x",
            ErrorCode.INVALID_REQUEST,
            -1,
            -1,
        )
        assert b.broker.metadata.get("__consumer_offsets") is None
