"""Broker.clients(): every live connection with its address, listener, client id, the
software it named in ApiVersions v3+, since when it is connected and its request count."""

from __future__ import annotations

import time

from confluent_kafka.admin import AdminClient

from kpy.protocol.messages.api_versions import ApiVersionsRequest
from kpy.protocol.messages.metadata import MetadataRequest
from kpy.testing import BrokerThread, in_process_broker, wait_until


async def test_clients_lists_live_connections_with_their_software(tmp_path):
    before = time.time()
    async with in_process_broker(tmp_path) as b:
        assert b.broker.clients() == []
        async with b.connect("app-1") as named, b.connect("app-2") as unnamed:
            request = ApiVersionsRequest(
                client_software_name="kpy-tests", client_software_version="1.2.3"
            )
            assert (await named.send(request, 3)).error_code == 0
            await named.send(MetadataRequest(topics=None), 12)
            await unnamed.send(ApiVersionsRequest(), 2)
            bad = ApiVersionsRequest(client_software_name="no spaces!", client_software_version="1")
            assert (await unnamed.send(bad, 3)).error_code != 0  # INVALID_REQUEST: not noted
            clients = {c.client_id: c for c in b.broker.clients()}
            assert set(clients) == {"app-1", "app-2"}
            one, two = clients["app-1"], clients["app-2"]
            assert (one.software_name, one.software_version) == ("kpy-tests", "1.2.3")
            assert (two.software_name, two.software_version) == (None, None)
            assert one.requests == 2 and two.requests == 2
            assert one.listener == "PLAINTEXT" and one.address.startswith("127.0.0.1:")
            assert before <= one.connected_at <= time.time()
            assert one.bytes_in > 0 and one.bytes_out > 0
            stats = b.broker.statistics()
            assert stats["connections_by_listener"] == {"PLAINTEXT": 2}
            assert {c["client_id"] for c in stats["clients"]} == {"app-1", "app-2"}
        await wait_until(lambda: b.broker.clients() == [], what="the connections to close")
        assert b.broker.connections_by_listener() == {"PLAINTEXT": 0}


def test_a_real_client_names_its_software(tmp_path):
    with BrokerThread(tmp_path) as b:
        admin = AdminClient({"bootstrap.servers": b.bootstrap, "client.id": "admin-x"})
        admin.list_topics(timeout=10)
        deadline = time.monotonic() + 10
        # librdkafka may swap its bootstrap connection for one to the broker it learnt of.
        while not (named := [c for c in b.call(b.broker.clients) if c.software_name]):
            assert time.monotonic() < deadline, b.call(b.broker.clients)
            time.sleep(0.01)
        assert named[0].client_id == "admin-x"
        assert named[0].software_name == "confluent-kafka-python"
        assert named[0].software_version and named[0].requests >= 1
        del admin
