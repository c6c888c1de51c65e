"""Cluster metadata: cluster id and meta.properties, topic registry, ids, name rules."""

from __future__ import annotations

import json
import uuid

import pytest

from kpy import metadata as md
from kpy.config import Config, parse_properties
from kpy.metadata import ClusterMetadata, MetaPropertiesError, validate_topic_name
from kpy.protocol.error_codes import ErrorCode, KafkaError


def open_metadata(*dirs, **settings) -> ClusterMetadata:
    values = {"log.dirs": ",".join(str(d) for d in dirs)}
    values.update({k.replace("_", "."): v for k, v in settings.items()})
    meta = ClusterMetadata(Config(values))
    meta.load()
    return meta


def test_cluster_id_is_created_and_stable(tmp_path):
    first = open_metadata(tmp_path / "a", tmp_path / "b", node_id="4")
    assert len(first.cluster_id) == 22
    uuid.UUID(bytes=md.base64.urlsafe_b64decode(first.cluster_id + "=="))  # a real UUID
    for d in ("a", "b"):
        props = parse_properties((tmp_path / d / "meta.properties").read_text())
        assert props["cluster.id"] == first.cluster_id
        assert props["version"] == "1" and props["node.id"] == "4"
        assert len(props["directory.id"]) == 22
    dir_id = parse_properties((tmp_path / "a" / "meta.properties").read_text())["directory.id"]
    again = open_metadata(tmp_path / "a", tmp_path / "b", node_id="4")
    assert again.cluster_id == first.cluster_id
    assert (
        parse_properties((tmp_path / "a" / "meta.properties").read_text())["directory.id"] == dir_id
    )


def test_new_log_dir_joins_the_cluster(tmp_path):
    first = open_metadata(tmp_path / "a")
    again = open_metadata(tmp_path / "a", tmp_path / "new")
    assert again.cluster_id == first.cluster_id
    props = parse_properties((tmp_path / "new" / "meta.properties").read_text())
    assert props["cluster.id"] == first.cluster_id


def test_log_dirs_of_different_clusters_are_refused(tmp_path):
    open_metadata(tmp_path / "a")
    open_metadata(tmp_path / "b")
    with pytest.raises(MetaPropertiesError, match="different clusters"):
        open_metadata(tmp_path / "a", tmp_path / "b")


def test_a_dir_of_another_node_id_is_refused_and_left_alone(tmp_path):
    open_metadata(tmp_path / "a", tmp_path / "b", node_id="1")
    before = {d: (tmp_path / d / "meta.properties").read_bytes() for d in ("a", "b")}
    with pytest.raises(MetaPropertiesError) as exc:
        open_metadata(tmp_path / "a", tmp_path / "b", node_id="2")
    # Kafka 4.4's words for this case.
    assert str(exc.value) == (
        f"Stored node id 1 doesn't match previous node id 2 in {tmp_path / 'a' / 'meta.properties'}"
        ". If you moved your data, make sure your configured node id matches. If you intend to "
        "create a new node, you should remove all data in your data directories."
    )
    assert {d: (tmp_path / d / "meta.properties").read_bytes() for d in ("a", "b")} == before


def test_configured_cluster_id(tmp_path):
    wanted = md.new_cluster_id()
    assert open_metadata(tmp_path / "a", cluster_id=wanted).cluster_id == wanted
    with pytest.raises(MetaPropertiesError, match="cluster.id"):
        open_metadata(tmp_path / "a", cluster_id=md.new_cluster_id())


def test_reads_kafkas_own_meta_properties(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "meta.properties").write_text(
        "#\n#Thu Jan 01 00:00:00 UTC 2026\nnode.id=1\ndirectory.id=AAAAAAAAAAAAAAAAAAAAAQ\n"
        "version=1\ncluster.id=MkU3OEVBNTcwNTJENDM2Qk\n"
    )
    assert open_metadata(tmp_path / "a", node_id="1").cluster_id == "MkU3OEVBNTcwNTJENDM2Qk"


def test_random_uuid_skips_reserved_ids(monkeypatch):
    dash = uuid.UUID(bytes=b"\xf8" + bytes(15))  # base64 starts with '-'
    assert md.encode_uuid(dash).startswith("-")
    good = uuid.UUID("12345678-1234-4234-8234-123456789abc")
    sequence = iter([uuid.UUID(int=0), md.METADATA_TOPIC_ID, dash, good])
    monkeypatch.setattr(md.uuid, "uuid4", lambda: next(sequence))
    assert md.random_uuid() == good


def test_topics_persist_with_ids_configs_and_epochs(tmp_path):
    meta = open_metadata(tmp_path)
    orders = meta.add_topic("orders", 3, {"retention.ms": "1000"})
    assert orders.leader_epochs == [0, 0, 0] and not orders.internal
    assert orders.topic_id not in (uuid.UUID(int=0), md.METADATA_TOPIC_ID)
    meta.add_topic("__consumer_offsets", 2, {})
    meta.add_partitions("orders", 5)
    assert meta.bump_leader_epoch("orders", 4) == 1
    meta.set_configs("orders", {"cleanup.policy": "compact"})

    again = open_metadata(tmp_path)
    loaded = again.get("orders")
    assert loaded.topic_id == orders.topic_id and again.by_id(orders.topic_id) is loaded
    assert loaded.partitions == 5 and loaded.leader_epochs == [0, 0, 0, 0, 1]
    assert loaded.configs == {"cleanup.policy": "compact"}
    assert again.get("__consumer_offsets").internal
    assert again.remove_topic("orders").topic_id == orders.topic_id
    assert open_metadata(tmp_path).get("orders") is None
    assert open_metadata(tmp_path).by_id(orders.topic_id) is None


def test_reads_the_registry_written_before_topicstore(tmp_path):
    topic_id = uuid.uuid4()
    (tmp_path / "kpy-topics.json").write_text(
        json.dumps(
            {
                "version": 1,
                "topics": [
                    {
                        "name": "t",
                        "topic_id": str(topic_id),
                        "partitions": 2,
                        "configs": {},
                        "leader_epochs": [3],
                    }
                ],
            }
        )
    )
    topic = open_metadata(tmp_path).get("t")
    assert topic.topic_id == topic_id and topic.leader_epochs == [3, 0]


def test_registry_change_that_cannot_be_written_changes_nothing(tmp_path):
    meta = open_metadata(tmp_path)
    meta.add_topic("kept", 2, {})
    (tmp_path / "kpy-topics.json.tmp").mkdir()  # the registry's temp file cannot be created
    for change in (
        lambda: meta.add_topic("lost", 1, {}),
        lambda: meta.add_partitions("kept", 4),
        lambda: meta.set_configs("kept", {"retention.ms": "1"}),
        lambda: meta.bump_leader_epoch("kept", 1),
        lambda: meta.remove_topic("kept"),
    ):
        with pytest.raises(OSError):
            change()
    kept = meta.get("kept")
    assert set(meta.topics) == {"kept"} and meta.by_id(kept.topic_id) is kept
    assert (kept.partitions, kept.leader_epochs, kept.configs) == (2, [0, 0], {})
    (tmp_path / "kpy-topics.json.tmp").rmdir()
    meta.add_topic("other", 1, {})
    again = open_metadata(tmp_path)
    assert set(again.topics) == {"kept", "other"}
    assert (again.get("kept").partitions, again.get("kept").leader_epochs) == (2, [0, 0])


def test_add_topic_checks_the_name_itself(tmp_path):
    """The check and the registration happen under one lock, so a creation that raced past
    an earlier check_new_topic still cannot register a taken or colliding name."""
    meta = open_metadata(tmp_path)
    first = meta.add_topic("a.b", 1, {})
    for name, code in (
        ("a.b", ErrorCode.TOPIC_ALREADY_EXISTS),
        ("a_b", ErrorCode.INVALID_TOPIC_EXCEPTION),
    ):
        with pytest.raises(KafkaError) as err:
            meta.add_topic(name, 3, {})
        assert err.value.code == code
    assert open_metadata(tmp_path).get("a.b").topic_id == first.topic_id


def test_create_topic_errors(tmp_path):
    meta = open_metadata(tmp_path)
    meta.add_topic("a.b", 1, {})
    with pytest.raises(KafkaError) as err:
        meta.check_new_topic("a.b")
    assert err.value.code == ErrorCode.TOPIC_ALREADY_EXISTS
    with pytest.raises(KafkaError) as err:
        meta.check_new_topic("a_b")
    assert err.value.code == ErrorCode.INVALID_TOPIC_EXCEPTION
    assert "collides" in err.value.message and "a.b" in err.value.message
    meta.check_new_topic("a-b")


@pytest.mark.parametrize("name", ["", ".", "..", "a" * 250, "has space", "slash/no", "ü", None])
def test_invalid_topic_names(name):
    with pytest.raises(KafkaError) as err:
        validate_topic_name(name)
    assert err.value.code == ErrorCode.INVALID_TOPIC_EXCEPTION


@pytest.mark.parametrize("name", ["a", "a" * 249, "Ok.name_1-2", "...", "__consumer_offsets"])
def test_valid_topic_names(name):
    validate_topic_name(name)


def test_dynamic_broker_configs_persist(tmp_path):
    meta = open_metadata(tmp_path)
    meta.config.set_dynamic("log.retention.ms", "1234", per_broker=False)
    meta.config.set_dynamic("message.max.bytes", "4096")
    meta.save_broker_configs()
    again = open_metadata(tmp_path)
    assert again.config.topic_defaults()["retention.ms"] == 1234
    assert again.config.topic_defaults()["max.message.bytes"] == 4096
    sources = {e.name: e.source for e in again.config.describe_broker_config()}
    assert sources["log.retention.ms"] == 3 and sources["message.max.bytes"] == 2
