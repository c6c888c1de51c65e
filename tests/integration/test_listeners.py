"""Several listeners, advertised listeners and ephemeral ports."""

from __future__ import annotations

from conformance.wire import WireClient
from kpy.protocol.messages.metadata import MetadataRequest
from kpy.testing import BrokerProcess


def test_two_listeners_each_advertise_themselves(tmp_path):
    overrides = {
        "listeners": "PLAINTEXT://127.0.0.1:0,INTERNAL://127.0.0.1:0",
        "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,INTERNAL:PLAINTEXT",
    }
    with BrokerProcess(tmp_path / "data", overrides=overrides) as broker:
        log = broker.log_path.read_text()
        ports = sorted(
            {
                int(p.split(":")[-1].rstrip(","))
                for p in log.split()
                if p.startswith(("PLAINTEXT://", "INTERNAL://"))
            }
        )
        assert len(ports) == 2 and all(ports)
        for port in ports:
            with WireClient(f"127.0.0.1:{port}") as c:
                md = c.send(MetadataRequest(topics=[]), 12)
            assert md.brokers[0].port == port


def test_advertised_listener_overrides_host(tmp_path):
    overrides = {"advertised.listeners": "PLAINTEXT://kpy.example:19999"}
    with (
        BrokerProcess(tmp_path / "data", overrides=overrides) as broker,
        WireClient(broker.bootstrap) as c,
    ):
        md = c.send(MetadataRequest(topics=[]), 12)
    assert (md.brokers[0].host, md.brokers[0].port) == ("kpy.example", 19999)


def _metadata_broker(bootstrap: str) -> tuple[str, int]:
    with WireClient(bootstrap) as c:
        md = c.send(MetadataRequest(topics=[]), 12)
    return md.brokers[0].host, md.brokers[0].port


def test_kafka_kraft_config_prints_the_advertised_bootstrap(tmp_path):
    # The shape of Kafka's config/server.properties (KRaft, combined roles), ports made free.
    overrides = {
        "process.roles": "broker,controller",
        "node.id": 1,
        "controller.quorum.bootstrap.servers": "localhost:9093",
        "listeners": "PLAINTEXT://:0,CONTROLLER://:0",
        "inter.broker.listener.name": "PLAINTEXT",
        "advertised.listeners": "PLAINTEXT://localhost:19999,CONTROLLER://localhost:9093",
        "controller.listener.names": "CONTROLLER",
        "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
    }
    with BrokerProcess(tmp_path / "data", overrides=overrides) as broker:
        ready = broker.output[-1]
        assert ready.startswith("kpy ready: bootstrap=localhost:19999 listening=*:"), ready
        assert _metadata_broker(broker.bootstrap) == ("localhost", 19999)


def test_wildcard_listener_is_advertised_as_localhost(tmp_path):
    overrides = {"listeners": "PLAINTEXT://0.0.0.0:0"}
    with BrokerProcess(tmp_path / "data", overrides=overrides) as broker:
        ready = broker.output[-1]
        assert ready.startswith(f"kpy ready: bootstrap=localhost:{broker.port} "), ready
        assert f" listening=0.0.0.0:{broker.port} " in ready
        assert _metadata_broker(broker.bootstrap) == ("localhost", broker.port)
