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
