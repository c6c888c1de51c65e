"""kpy.client against a broker served in the test's trio run: over a socket and through the
in-process transport (the console's path), version negotiation, routing and error names."""

from __future__ import annotations

import functools

import pytest
import trio

from kpy import __version__
from kpy.client import Client, ClientError, admin
from kpy.client.client import parse_bootstrap
from kpy.client.fetch import fetch_partitions
from kpy.client.sync import Admin
from kpy.client.transport import SocketTransport, TransportClosed, newest_common
from kpy.protocol import api_keys
from kpy.protocol.messages.metadata import MetadataRequest
from kpy.testing import BrokerThread, in_process_broker

pytestmark = pytest.mark.timeout(30)


async def test_socket_and_local_clients_see_the_same_topics(tmp_path):
    async with (
        in_process_broker(tmp_path) as b,
        Client.connect(b.bootstrap) as remote,
        Client.local(b.broker) as local,
    ):
        assert await admin.create_topic(remote, "made-remotely", 3) == 3
        assert await admin.create_topic(local, "made-locally", 2) == 2
        for client in (remote, local):
            topics = {t.name: t.partitions for t in await admin.list_topics(client)}
            assert topics == {"made-remotely": 3, "made-locally": 2}
        await admin.delete_topics(local, ["made-remotely"])
        assert [t.name for t in await admin.list_topics(remote)] == ["made-locally"]


async def test_versions_are_the_newest_both_sides_speak(tmp_path):
    async with in_process_broker(tmp_path) as b, Client.connect(b.bootstrap, "probe") as c:
        answer = await c.api_versions()
        ranges = {k.api_key: (k.min_version, k.max_version) for k in answer.api_keys}
        metadata = api_keys.API_KEYS[3]
        assert newest_common(3, ranges) == min(ranges[3][1], metadata.schema_max)
        # An API the broker does not announce has no common version.
        assert newest_common(3, {}) is None
        assert newest_common(3, {3: (metadata.schema_max + 1, metadata.schema_max + 2)}) is None
        # The broker saw our software name and version (KIP-511).
        assert answer.error_code == 0
        seen = {(ci.client_id, ci.software_name, ci.software_version) for ci in b.broker.clients()}
        assert ("probe", "kpy", __version__) in seen


async def test_a_kafka_error_is_raised_with_its_name(tmp_path):
    async with in_process_broker(tmp_path) as b, Client.connect(b.bootstrap) as c:
        await admin.create_topic(c, "dup")
        with pytest.raises(ClientError) as failed:
            await admin.create_topic(c, "dup")
        assert failed.value.code == 36 and failed.value.name == "TOPIC_ALREADY_EXISTS"
        assert str(failed.value).startswith("TOPIC_ALREADY_EXISTS: creating topic 'dup'")
        with pytest.raises(ClientError) as unknown:
            await c.leader_of("nope", 0)
        assert unknown.value.name == "UNKNOWN_TOPIC_OR_PARTITION"


async def test_requests_go_to_the_leader_and_the_coordinator(tmp_path):
    async with in_process_broker(tmp_path) as b, Client.connect(b.bootstrap) as c:
        await admin.create_topic(c, "routed", 2)
        leader = await c.leader_of("routed", 1)
        [node] = c.cluster.brokers  # the one broker
        assert leader == node
        assert await c.coordinator("some-group") == node
        answer = await c.send_to_leader("routed", 0, MetadataRequest(topics=None))
        assert {t.name for t in answer.topics} >= {"routed"}


async def test_an_unreachable_broker_is_a_client_error():
    with trio.fail_after(10):
        client = Client.connect("127.0.0.1:1")
        with pytest.raises(ClientError) as failed:
            await client.__aenter__()
    assert failed.value.code is None and failed.value.name == "NETWORK_EXCEPTION"


@pytest.mark.parametrize("text", ["", "host", "host:port", ":x"])
def test_malformed_bootstrap_addresses_are_refused(text):
    with pytest.raises(ValueError):
        parse_bootstrap(text)


def test_bootstrap_lists_and_ipv6():
    assert parse_bootstrap("a:1, [::1]:2,:3") == [("a", 1), ("::1", 2), ("localhost", 3)]


def test_the_sync_admin_outside_trio(tmp_path):
    with BrokerThread(tmp_path) as b, Admin(b.bootstrap) as a:
        assert a.create_topic("sync-made", 4) == 4
        assert [(t.name, t.partitions) for t in a.list_topics()] == [("sync-made", 4)]
        with pytest.raises(AttributeError):
            a.no_such_operation  # noqa: B018
        assert "create_topic" in dir(a)


async def test_a_request_cancelled_before_its_answer_does_not_spoil_the_next(tmp_path):
    # A long-poll Fetch cut off by a timeout leaves its answer on the way: the next request
    # must not read it as its own, so the client drops that connection and opens another.
    async with in_process_broker(tmp_path) as b, Client.connect(b.bootstrap) as c:
        await admin.create_topic(c, "quiet", 1)
        node = await c.leader_of("quiet", 0)
        with trio.move_on_after(0.3) as waited:
            await fetch_partitions(c, node, "quiet", {0: 0}, max_wait_ms=3_000)
        assert waited.cancelled_caught
        with trio.fail_after(2):  # well before the cut-off Fetch is answered
            answer = await c.send(MetadataRequest(topics=None), node=node)
        assert [t.name for t in answer.topics] == ["quiet"]


async def test_a_field_the_brokers_version_lacks_is_a_client_error(tmp_path):
    # Metadata before v4 cannot say "do not create the topic" (Kafka's clients refuse too).
    async with in_process_broker(tmp_path) as b, Client.local(b.broker) as c:
        (await c._any_transport()).versions[MetadataRequest.API_KEY] = (0, 3)
        with pytest.raises(ClientError) as refused:
            await c.refresh_metadata(["old"])
        assert refused.value.name == "UNSUPPORTED_VERSION"
        assert "allow_auto_topic_creation" in str(refused.value)
        await c.refresh_metadata(["old"], auto_create=True)  # what v3 can say


async def test_a_listener_that_never_answers_is_given_up_on():
    # A TLS listener, or a port that is not Kafka's, accepts and says nothing.
    async def silent(stream):
        await trio.sleep_forever()

    async with trio.open_nursery() as nursery:
        serve = functools.partial(trio.serve_tcp, silent, 0, host="127.0.0.1")
        [listener] = await nursery.start(serve)
        port = listener.socket.getsockname()[1]
        with trio.fail_after(5), pytest.raises(TransportClosed, match="did not answer"):
            await SocketTransport.connect("127.0.0.1", port, "probe", timeout=0.5)
        nursery.cancel_scope.cancel()
