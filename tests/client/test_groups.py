"""kpy.client.groups without a third-party client: seek targets, classic assignment bytes,
and the group functions through the console's in-process transport and over a socket."""

from __future__ import annotations

import datetime as dt

import pytest

from kpy import cli
from kpy.client import Client, admin, groups
from kpy.client.groups import SeekTarget, decode_assignment
from kpy.protocol.messages.consumer_protocol_assignment import ConsumerProtocolAssignment
from kpy.testing import in_process_broker

pytestmark = pytest.mark.timeout(30)


def test_seek_targets():
    assert SeekTarget.parse("earliest") == SeekTarget("earliest")
    assert SeekTarget.parse("latest") == SeekTarget("latest")
    assert SeekTarget.parse("42") == SeekTarget("offset", 42)
    assert SeekTarget.parse("@1700000000000") == SeekTarget("timestamp", 1_700_000_000_000)
    assert SeekTarget.parse("@2023-11-14T22:13:20+00:00") == SeekTarget(
        "timestamp", 1_700_000_000_000
    )
    local = dt.datetime(2026, 12, 1, 9, 0).timestamp() * 1000  # no zone: local time
    assert SeekTarget.parse("@2026-12-01T09:00:00") == SeekTarget("timestamp", int(local))
    for bad in ("-1", "soon", "@yesterday", ""):
        with pytest.raises(ValueError):
            SeekTarget.parse(bad)


@pytest.mark.parametrize("version", [0, 1, 3])
def test_classic_assignment_bytes(version):
    tp = ConsumerProtocolAssignment.TopicPartition
    assignment = ConsumerProtocolAssignment(
        assigned_partitions=[tp(topic="b", partitions=[2, 0]), tp(topic="a", partitions=[1])]
    )
    data = version.to_bytes(2, "big") + assignment.encode(version)
    assert decode_assignment(data) == {"a": [1], "b": [0, 2]}
    # A newer version keeps the older layout in front.
    assert decode_assignment(b"\x00\x09" + assignment.encode(3) + b"more") == {
        "a": [1],
        "b": [0, 2],
    }
    assert decode_assignment(b"") == {} and decode_assignment(b"\x00\x00\xff") == {}


def test_usage_errors_exit_2(capsys):
    for argv in (
        ["group", "seek", "g", "--to", "soon"],
        ["group", "seek", "g", "--to", "earliest", "--partitions", "0"],
        [
            "group",
            "seek",
            "g",
            "--to",
            "earliest",
            "--topic",
            "a",
            "--topic",
            "b",
            "--partitions",
            "0",
        ],
        ["group", "seek", "g", "--to", "earliest", "--topic", "a", "--partitions", "x"],
        ["group", "describe"],
    ):
        with pytest.raises(SystemExit) as exited:
            cli.main(argv)
        assert exited.value.code == 2, argv


async def test_through_the_console_transport_and_a_socket(tmp_path):
    async with (
        in_process_broker(tmp_path) as b,
        Client.connect(b.bootstrap) as remote,
        Client.local(b.broker) as local,
    ):
        await admin.create_topic(remote, "t", 2)
        # A simple commit makes a classic group in state Empty.
        moved = await groups.seek_offsets(local, "g", SeekTarget("latest"), {"t": [1]})
        assert [(c.topic, c.partition, c.current_offset, c.new_offset) for c in moved] == [
            ("t", 1, None, 0)
        ]
        for client in (local, remote):
            (listed,) = await groups.list_groups(client)
            assert (listed.group_id, listed.type, listed.state) == ("g", "classic", "Empty")
            assert await groups.list_groups(client, types=["consumer"]) == []
            d = await groups.describe_group(client, "g")
            assert (d.state, d.members, d.total_lag) == ("Empty", [], 0)
            assert [
                (o.topic, o.partition, o.current_offset, o.log_end_offset, o.lag) for o in d.offsets
            ] == [("t", 1, 0, 0, 0)]
        planned = await groups.plan_seek(remote, "g", SeekTarget("offset", 7))
        assert [(c.partition, c.new_offset) for c in planned] == [(1, 0)]  # kept at the end
        (deleted,) = await groups.delete_groups(local, ["g"])
        assert (deleted.group_id, deleted.error) == ("g", None)
        (again,) = await groups.delete_groups(remote, ["g"])
        assert again.error == "GROUP_ID_NOT_FOUND"
        assert await groups.list_groups(remote) == []
