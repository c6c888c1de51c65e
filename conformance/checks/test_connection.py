"""Connection and ApiVersions negotiation."""

from __future__ import annotations

import struct

import pytest

from conformance.raw import unique
from conformance.wire import ConnectionClosed, WireClient
from kpy.protocol.messages.api_versions import ApiVersionsRequest, ApiVersionsResponse
from kpy.protocol.messages.metadata import MetadataRequest

pytestmark = pytest.mark.area("connection")
SOFTWARE = {"client_software_name": "kpy-conformance", "client_software_version": "1.0"}


@pytest.mark.kafka("protocol guide: ApiVersions")
@pytest.mark.parametrize("version", [0, 1, 2, 3])
def test_api_versions_every_version(wire, version):
    """ApiVersions answers at each version with its own key in the table."""
    resp = wire.send(ApiVersionsRequest(**SOFTWARE), version)
    assert resp.error_code == 0
    keys = {k.api_key: (k.min_version, k.max_version) for k in resp.api_keys}
    assert 18 in keys and keys[18][0] == 0


@pytest.mark.kafka("KIP-511")
def test_api_versions_unknown_version_answers_v0(bootstrap):
    """A newer ApiVersions than supported gets a v0 answer with UNSUPPORTED_VERSION and the ranges."""
    with WireClient(bootstrap) as c:
        header = struct.pack(">hhih", 18, 127, 42, 3) + b"cli" + b"\x00"
        body = b"\x04some\x021\x00"
        c.send_raw(struct.pack(">i", len(header) + len(body)) + header + body)
        frame = c.recv_frame()
        corr = struct.unpack_from(">i", frame)[0]
        resp = ApiVersionsResponse.decode(frame[4:], 0)
    assert corr == 42 and resp.error_code == 35
    assert any(k.api_key == 18 for k in resp.api_keys)


@pytest.mark.kafka("KIP-511")
def test_api_versions_invalid_software_name(wire):
    """v3+ client software names must match Kafka's pattern, else INVALID_REQUEST."""
    resp = wire.send(
        ApiVersionsRequest(client_software_name="-bad name-", client_software_version="1"), 3
    )
    assert resp.error_code == 42


@pytest.mark.kafka("KIP-896")
def test_core_api_ranges(wire):
    """The core APIs are advertised with Kafka 4 compatible ranges."""
    resp = wire.send(ApiVersionsRequest(**SOFTWARE), 3)
    keys = {k.api_key: (k.min_version, k.max_version) for k in resp.api_keys}
    for key, lo_max, hi_min in [
        (0, 3, 9),
        (1, 4, 12),
        (2, 1, 7),
        (3, 0, 9),
        (8, 2, 8),
        (9, 1, 8),
        (10, 0, 4),
        (11, 2, 7),
        (12, 0, 4),
        (13, 0, 4),
        (14, 0, 4),
        (19, 2, 5),
        (22, 0, 4),
    ]:
        assert key in keys, f"API {key} is not advertised"
        lo, hi = keys[key]
        assert lo <= lo_max and hi >= hi_min, f"API {key}: {lo}-{hi}"


@pytest.mark.kafka("protocol guide: correlation ids")
def test_pipelined_requests_answer_in_order(bootstrap):
    """Several requests sent at once are answered in order, each with its correlation id."""
    from kpy.protocol import framing

    with WireClient(bootstrap) as c:
        frames = b"".join(
            framing.encode_request(18, 2, corr, "pipe", ApiVersionsRequest())
            for corr in range(100, 110)
        )
        c.send_raw(frames)
        corrs = [struct.unpack_from(">i", c.recv_frame())[0] for _ in range(10)]
    assert corrs == list(range(100, 110))


@pytest.mark.kafka("protocol guide: request framing")
def test_many_connections(bootstrap):
    """Fifty connections at once are all served."""
    clients = [WireClient(bootstrap) for _ in range(50)]
    try:
        for c in clients:
            assert c.send(MetadataRequest(topics=[]), 9).brokers
    finally:
        for c in clients:
            c.close()


@pytest.mark.area("bad-input")
@pytest.mark.kafka("protocol guide: network errors")
@pytest.mark.parametrize(
    "case",
    [
        "short-header",
        "unknown-api-key",
        "unknown-version",
        "oversized",
        "negative-size",
        "truncated-body",
        "garbage",
    ],
)
def test_bad_frame_closes_only_that_connection(bootstrap, case):
    """A malformed request closes its own connection; other connections keep working."""
    payload = {
        "short-header": b"\x00\x00\x00\x04\xff\xff\xff\xff",
        "unknown-api-key": struct.pack(">ihhih", 10, 12345, 0, 1, -1),
        "unknown-version": struct.pack(">ihhih", 10, 3, 999, 1, -1),
        "oversized": struct.pack(">i", 0x7FFFFFF0),
        "negative-size": struct.pack(">i", -7),
        # Metadata v12 announcing four topics and then ending.
        "truncated-body": struct.pack(">ihhih", 12, 3, 12, 1, 0) + b"\x00\x05",
        "garbage": b"\x00\x00\x00\x10" + b"\xde\xad\xbe\xef" * 4,
    }[case]
    with WireClient(bootstrap) as bystander, WireClient(bootstrap) as bad:
        bad.send_raw(payload)
        assert bad.is_closed(timeout=10)
        assert bystander.send(MetadataRequest(topics=[]), 9).brokers


@pytest.mark.area("bad-input")
@pytest.mark.kafka("protocol guide: network errors")
def test_connection_closed_mid_frame_is_harmless(bootstrap):
    """A client that disconnects half-way through a request does not disturb the broker."""
    with WireClient(bootstrap) as bad:
        bad.send_raw(struct.pack(">i", 1000) + b"\x00" * 10)
    with WireClient(bootstrap) as c:
        assert c.send(MetadataRequest(topics=[]), 9).brokers


@pytest.mark.area("bad-input")
@pytest.mark.kafka("protocol guide: network errors")
def test_valid_then_garbage(bootstrap):
    """A good request is answered even if garbage follows on the same connection."""
    with WireClient(bootstrap) as c:
        assert c.send(ApiVersionsRequest(), 0).error_code == 0
        c.send_raw(b"\x00\x00\x00\x08" + b"\xff" * 8)
        with pytest.raises(ConnectionClosed):
            c.recv_frame()
    _ = unique("x")
