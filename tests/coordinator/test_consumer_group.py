"""KIP-848 consumer groups without sockets: assignors, epochs, revocation, session expiry."""

from __future__ import annotations

import pytest

from kpy.coordinator.assignors import range_assign, uniform_assign
from kpy.coordinator.consumer_group import ConsumerGroups
from kpy.protocol.error_codes import ErrorCode, KafkaError
from kpy.protocol.messages.consumer_group_heartbeat import ConsumerGroupHeartbeatRequest as Req
from tests.coordinator.fakes import FakeContext


def coordinator() -> tuple[ConsumerGroups, FakeContext]:
    ctx = FakeContext()
    return ConsumerGroups(ctx), ctx


def beat(cg, now=0.0, version=0, **fields):
    if fields.get("member_epoch") == 0:
        # What Kafka requires of a (re-)join, unless the test says otherwise.
        fields.setdefault("rebalance_timeout_ms", 30_000)
        fields.setdefault("topic_partitions", [])
    return cg.heartbeat(
        Req(group_id="g", **fields), "c", "h", now, classic_busy=False, version=version
    )


def owned(topic, parts):
    return [Req.TopicPartitions(topic_id=topic.topic_id, partitions=parts)]


def parts(assignment):
    return sorted(p for _, ps in assignment for p in ps)


def test_uniform_balances_and_is_sticky():
    members = {"a": {"t"}, "b": {"t"}, "c": {"t"}}
    first = uniform_assign(members, {"t": 6}, {})
    assert sorted(len(a["t"]) for a in first.values()) == [2, 2, 2]
    second = uniform_assign({**members, "d": {"t"}}, {"t": 6}, first)
    moved = sum(len(first[m]["t"] - second[m].get("t", set())) for m in first)
    assert moved <= 2 and sum(len(a.get("t", ())) for a in second.values()) == 6


def test_uniform_respects_subscriptions():
    result = uniform_assign({"a": {"x"}, "b": {"y"}}, {"x": 2, "y": 3}, {})
    assert result == {"a": {"x": {0, 1}}, "b": {"y": {0, 1, 2}}}


def test_range_gives_contiguous_ranges():
    result = range_assign({"a": {"t"}, "b": {"t"}}, {"t": 5}, {})
    assert result == {"a": {"t": {0, 1, 2}}, "b": {"t": {3, 4}}}


def test_join_revoke_then_reassign():
    cg, md = coordinator()
    t = md.add("t", 2)
    a_id, a_epoch, a_asg = beat(
        cg, member_epoch=0, subscribed_topic_names=["t"], topic_partitions=[]
    )
    assert a_epoch == 2 and parts(a_asg) == [0, 1]
    b_id, b_epoch, b_asg = beat(
        cg, member_epoch=0, subscribed_topic_names=["t"], topic_partitions=[]
    )
    assert b_epoch == 3 and parts(b_asg) == []
    _, epoch, asg = beat(cg, member_id=a_id, member_epoch=2, topic_partitions=owned(t, [0, 1]))
    assert epoch == 2 and len(parts(asg)) == 1
    keep = parts(asg)
    _, epoch, _ = beat(cg, member_id=a_id, member_epoch=2, topic_partitions=owned(t, keep))
    assert epoch == 3
    _, _, asg = beat(cg, member_id=b_id, member_epoch=3, topic_partitions=[])
    assert parts(asg) == [p for p in (0, 1) if p not in keep]


def test_fencing_and_unknown_member():
    cg, md = coordinator()
    md.add("t", 1)
    with pytest.raises(KafkaError) as e:
        beat(cg, member_id="x", member_epoch=1)
    assert e.value.code == ErrorCode.GROUP_ID_NOT_FOUND  # only epoch 0 creates the group
    assert "g" not in cg.groups
    mid, epoch, _ = beat(cg, member_epoch=0, subscribed_topic_names=["t"])
    with pytest.raises(KafkaError) as e:
        beat(cg, member_id="x", member_epoch=1)
    assert e.value.code == ErrorCode.UNKNOWN_MEMBER_ID
    with pytest.raises(KafkaError) as e:
        beat(cg, member_id=mid, member_epoch=epoch + 1)
    assert e.value.code == ErrorCode.FENCED_MEMBER_EPOCH
    with pytest.raises(KafkaError) as e:
        cg.check_commit("g", mid, epoch + 1)
    assert e.value.code == ErrorCode.STALE_MEMBER_EPOCH
    assert cg.check_commit("g", mid, epoch)


def test_static_member_unreleased_then_rejoins():
    cg, md = coordinator()
    md.add("t", 2)
    mid, epoch, _ = beat(cg, member_epoch=0, instance_id="i1", subscribed_topic_names=["t"])
    with pytest.raises(KafkaError) as e:
        beat(cg, member_epoch=0, instance_id="i1", subscribed_topic_names=["t"])
    assert e.value.code == ErrorCode.UNRELEASED_INSTANCE_ID
    assert beat(cg, member_id=mid, member_epoch=-2, instance_id="i1")[1] == -2
    new_id, new_epoch, asg = beat(
        cg, member_epoch=0, instance_id="i1", subscribed_topic_names=["t"]
    )
    assert new_id != mid and new_epoch == epoch and parts(asg) == [0, 1]


def test_session_expiry_and_new_partitions():
    cg, md = coordinator()
    t = md.add("t", 2)
    a, _, _ = beat(cg, now=0.0, member_epoch=0, subscribed_topic_names=["t"])
    b, _, _ = beat(cg, now=40.0, member_epoch=0, subscribed_topic_names=["t"])
    group = cg.groups["g"]
    cg.timers.fire(44.9)
    assert set(group.members) == {a, b}
    cg.timers.fire(45.0)  # a's last heartbeat (0 s) plus the 45 s session timeout
    assert list(group.members) == [b]
    t.partitions = 4
    epoch = group.group_epoch
    beat(cg, now=51.0, member_id=b, member_epoch=group.members[b].epoch)
    assert group.group_epoch == epoch + 1 and group.target[b] == {"t": {0, 1, 2, 3}}


def test_regex_subscription():
    cg, md = coordinator()
    md.add("orders-1", 1)
    md.add("orders-2", 1)
    md.add("other", 1)
    _, _, asg = beat(cg, member_epoch=0, subscribed_topic_regex="orders-.*")
    assert len(asg) == 2


def test_delete_needs_an_empty_group():
    cg, md = coordinator()
    md.add("t", 1)
    mid, _, _ = beat(cg, member_epoch=0, subscribed_topic_names=["t"])
    with pytest.raises(KafkaError) as e:
        cg.delete("g")
    assert e.value.code == ErrorCode.NON_EMPTY_GROUP
    beat(cg, member_id=mid, member_epoch=-1)
    assert cg.delete("g") and "g" not in cg.groups


def test_rejoin_with_epoch_zero_resets_the_member():
    cg, md = coordinator()
    md.add("t", 2)
    mid, epoch, _ = beat(cg, member_id="m1", member_epoch=0, subscribed_topic_names=["t"])
    assert mid == "m1" and epoch == 2
    mid, epoch, asg = beat(cg, member_id="m1", member_epoch=0, subscribed_topic_names=["t"])
    assert mid == "m1" and epoch == 3 and parts(asg) == [0, 1]


def test_a_member_that_does_not_revoke_in_its_rebalance_timeout_is_removed():
    # KIP-848: RebalanceTimeoutMs is how long the coordinator waits for a member to revoke.
    cg, md = coordinator()
    t = md.add("t", 2)
    a, _, _ = beat(cg, member_epoch=0, subscribed_topic_names=["t"], rebalance_timeout_ms=30_000)
    b, b_epoch, _ = beat(
        cg, now=1.0, member_epoch=0, subscribed_topic_names=["t"], rebalance_timeout_ms=30_000
    )
    # a is asked to give one partition up and keeps reporting both, heartbeating all along.
    for now in (2.0, 20.0, 31.0):
        _, epoch, _ = beat(
            cg, now=now, member_id=a, member_epoch=2, topic_partitions=owned(t, [0, 1])
        )
        assert epoch == 2
        beat(cg, now=now, member_id=b, member_epoch=b_epoch, topic_partitions=[])
    group = cg.groups["g"]
    cg.timers.fire(31.5)
    assert set(group.members) == {a, b}  # within 30 s of being asked (at 2 s)
    cg.timers.fire(32.5)
    assert list(group.members) == [b]
    with pytest.raises(KafkaError) as e:
        beat(cg, now=33.0, member_id=a, member_epoch=2, topic_partitions=owned(t, [0, 1]))
    assert e.value.code == ErrorCode.UNKNOWN_MEMBER_ID
    _, epoch, asg = beat(cg, now=33.0, member_id=b, member_epoch=b_epoch, topic_partitions=[])
    assert epoch == group.group_epoch and parts(asg) == [0, 1]


def test_a_member_that_revokes_in_time_is_kept():
    cg, md = coordinator()
    t = md.add("t", 2)
    a, _, _ = beat(cg, member_epoch=0, subscribed_topic_names=["t"], rebalance_timeout_ms=1000)
    beat(cg, now=1.0, member_epoch=0, subscribed_topic_names=["t"], rebalance_timeout_ms=1000)
    _, _, asg = beat(cg, now=1.5, member_id=a, member_epoch=2, topic_partitions=owned(t, [0, 1]))
    beat(cg, now=2.0, member_id=a, member_epoch=2, topic_partitions=owned(t, parts(asg)))
    cg.timers.fire(10.0)
    assert a in cg.groups["g"].members


@pytest.mark.parametrize(
    "version,fields,message",
    [
        (0, {"member_epoch": 0, "rebalance_timeout_ms": -1}, "RebalanceTimeoutMs must be"),
        (0, {"member_epoch": 0, "topic_partitions": None}, "TopicPartitions must be empty"),
        (0, {"member_epoch": 0, "topic_partitions": "owned"}, "TopicPartitions must be empty"),
        (0, {"member_epoch": 0, "subscribed_topic_names": None}, "Either SubscribedTopicNames"),
        (1, {"member_epoch": 0, "member_id": ""}, "MemberId can't be empty."),
        (0, {"member_epoch": 0, "instance_id": " "}, "InstanceId can't be empty."),
        (0, {"member_epoch": 0, "rack_id": ""}, "RackId can't be empty."),
        (0, {"member_epoch": 2, "member_id": ""}, "MemberId can't be empty."),
        (0, {"member_epoch": -1, "member_id": ""}, "MemberId can't be empty."),
        (0, {"member_epoch": -2, "member_id": "m"}, "InstanceId can't be null."),
        (0, {"member_epoch": -3, "member_id": "m"}, "MemberEpoch is invalid."),
    ],
)
def test_invalid_heartbeats_change_nothing(version, fields, message):
    """Kafka's request validation: INVALID_REQUEST with the first rule broken, no group made."""
    cg, md = coordinator()
    t = md.add("t", 1)
    fields = {"member_id": "m", "subscribed_topic_names": ["t"], **fields}
    if fields.get("topic_partitions") == "owned":
        fields["topic_partitions"] = owned(t, [0])
    with pytest.raises(KafkaError) as e:
        beat(cg, version=version, **fields)
    assert e.value.code == ErrorCode.INVALID_REQUEST and e.value.message.startswith(message)
    assert not cg.groups


def test_first_heartbeat_rules():
    """An empty subscription or regex joins without topics; the rebalance timeout is checked
    before the assignor."""
    cg, md = coordinator()
    md.add("t", 1)
    assert beat(cg, member_epoch=0, subscribed_topic_names=[])[1] == 1
    assert beat(cg, version=1, member_id="r", member_epoch=0, subscribed_topic_regex="")[1] == 1
    with pytest.raises(KafkaError) as e:
        beat(cg, member_epoch=0, subscribed_topic_names=["t"], server_assignor="sticky")
    assert e.value.code == ErrorCode.UNSUPPORTED_ASSIGNOR
    with pytest.raises(KafkaError) as e:
        beat(
            cg,
            member_epoch=0,
            subscribed_topic_names=["t"],
            server_assignor="sticky",
            rebalance_timeout_ms=-1,
        )
    assert e.value.code == ErrorCode.INVALID_REQUEST


def test_epochs_are_stored_and_restored():
    """Each epoch bump and the deletion are handed to ``persist``; ``restore`` brings back an
    empty group at its epoch, where a former member is unknown."""
    from kpy.coordinator import offsets

    stored: list[tuple[str, int | None]] = []
    md = FakeContext()
    md.add("t", 1)
    cg = ConsumerGroups(md, persist=lambda group, epoch: stored.append((group, epoch)))
    mid, epoch, _ = beat(cg, member_epoch=0, subscribed_topic_names=["t"])
    beat(cg, member_id=mid, member_epoch=-1)
    assert cg.delete("g") and stored == [("g", 1), ("g", 2), ("g", 3), ("g", None)]
    # As written to and read back from __consumer_offsets.
    recs = [offsets.decode_record(offsets.consumer_group_record(g, e)) for g, e in stored]
    assert [(r.kind, r.group, r.group_value) for r in recs] == [
        ("consumer-group", "g", 1),
        ("consumer-group", "g", 2),
        ("consumer-group", "g", 3),
        ("consumer-group", "g", None),
    ]
    again = ConsumerGroups(md)
    for r in recs[:3]:
        again.restore(r.group, r.group_value)
    assert again.groups["g"].group_epoch == 3 and again.groups["g"].state == "Empty"
    with pytest.raises(KafkaError) as e:
        beat(again, member_id=mid, member_epoch=epoch)
    assert e.value.code == ErrorCode.UNKNOWN_MEMBER_ID
    again.restore("g", None)
    assert not again.groups
