"""kpy's pytest plugin (kpy/pytest_plugin.py) as a user meets it: small test files run by a
pytest of their own (pytester, in a subprocess), in process and in subprocess mode.

The inner pytest imports this checkout's kpy (PYTHONPATH) and finds the plugin by its entry
point; in a venv whose kpy was installed before the entry point existed, ``-p`` names it
(tests/test_install.py checks the entry point of a real install).
"""

from __future__ import annotations

import json
import tomllib
from importlib import metadata
from pathlib import Path

import pytest

from kpy.pytest_plugin import KafkaTopic, broker_settings, topic_name
from tests.test_readme import README_PLUGIN, block

pytest_plugins = ["pytester"]
pytestmark = pytest.mark.timeout(180)

ROOT = Path(__file__).resolve().parents[1]
INNER_TIMEOUT = 60  # each inner test's pytest-timeout
RUN_TIMEOUT = 150  # each inner pytest run


def _entry_point_installed() -> bool:
    return any(ep.value == "kpy.pytest_plugin" for ep in metadata.entry_points(group="pytest11"))


@pytest.fixture
def run(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch):
    """Run the inner pytest on the files written to ``pytester``; its RunResult."""
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    monkeypatch.delenv("PYTEST_XDIST_WORKER", raising=False)
    monkeypatch.delenv("PYTEST_ADDOPTS", raising=False)

    def run(*args: str) -> pytest.RunResult:
        plugin = [] if _entry_point_installed() else ["-p", "kpy.pytest_plugin"]
        return pytester.runpytest_subprocess(
            *plugin, "-p", "no:cacheprovider", f"--timeout={INNER_TIMEOUT}", *args,
            timeout=RUN_TIMEOUT,
        )  # fmt: skip

    return run


USER_TESTS = """
import threading

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition

MODE = {mode!r}
seen_topics = []


def consume_all(bootstrap, topic, count, partitions=(0,)):
    consumer = Consumer({{"bootstrap.servers": bootstrap, "group.id": "g-" + topic,
                         "enable.auto.commit": False}})
    consumer.assign([TopicPartition(topic, p, 0) for p in partitions])
    values = []
    try:
        for _ in range(200):
            if len(values) >= count:
                break
            message = consumer.poll(0.1)
            if message is not None and message.error() is None:
                values.append(message.value())
    finally:
        consumer.close()
    return values


def test_the_mode_asked_for(kafka_broker):
    assert kafka_broker.mode == MODE
    in_process = any(t.name == "kpy-broker" for t in threading.enumerate())
    assert in_process is (MODE == "inprocess")


def test_produce_and_consume(kafka_broker, kafka_topic):
    seen_topics.append(kafka_topic)
    assert kafka_topic.partitions == 1
    producer = Producer({{"bootstrap.servers": kafka_broker.bootstrap}})
    producer.produce(kafka_topic, key=b"k", value=b"hello")
    assert producer.flush(10) == 0
    assert consume_all(kafka_broker.bootstrap, kafka_topic, 1) == [b"hello"]


@pytest.mark.kafka_topic(partitions=3)
def test_partitions_by_marker(kafka_broker, kafka_topic, kafka_admin):
    seen_topics.append(kafka_topic)
    assert kafka_topic.partitions == 3
    [listed] = [t for t in kafka_admin.list_topics() if t.name == kafka_topic.name]
    assert listed.partitions == 3
    producer = Producer({{"bootstrap.servers": kafka_broker.bootstrap}})
    for p in range(3):
        producer.produce(kafka_topic, value=b"%d" % p, partition=p)
    assert producer.flush(10) == 0
    assert sorted(consume_all(kafka_broker.bootstrap, kafka_topic, 3, range(3))) == [
        b"0", b"1", b"2"]


@pytest.mark.kafka_topic(configs={{"cleanup.policy": "compact"}})
def test_configs_by_marker(kafka_broker, kafka_topic):
    from confluent_kafka.admin import AdminClient, ConfigResource

    admin = AdminClient({{"bootstrap.servers": kafka_broker.bootstrap}})
    # .name: confluent-kafka's ConfigResource takes exactly a str, not a subclass
    [described] = admin.describe_configs([ConfigResource("topic", kafka_topic.name)]).values()
    assert described.result(10)["cleanup.policy"].value == "compact"


def test_each_test_has_its_own_topic():
    assert len(seen_topics) == 2 and len(set(seen_topics)) == 2


def test_a_crash_keeps_acknowledged_records(kafka_broker, kafka_topic):
    bootstrap = kafka_broker.bootstrap
    producer = Producer({{"bootstrap.servers": bootstrap, "acks": "all"}})
    for i in range(100):
        producer.produce(kafka_topic, value=b"%d" % i)
    assert producer.flush(10) == 0
    kafka_broker.restart(crash=True)
    assert kafka_broker.bootstrap == bootstrap
    assert consume_all(bootstrap, kafka_topic, 100) == [b"%d" % i for i in range(100)]
    producer.produce(kafka_topic, value=b"after")  # the old producer reconnects
    assert producer.flush(10) == 0


def test_a_stopped_broker_is_started_for_the_next_topic(kafka_broker):
    kafka_broker.stop()
    assert not kafka_broker.running


def test_after_the_stop(kafka_broker, kafka_topic):
    assert kafka_broker.running
    assert (kafka_broker.data_dir / f"{{kafka_topic}}-0").is_dir()
"""


@pytest.mark.parametrize("mode", ["inprocess", "subprocess"])
def test_the_fixtures_in_each_mode(pytester, run, mode):
    pytester.makepyfile(test_user=USER_TESTS.format(mode=mode))
    args = [] if mode == "inprocess" else ["--kpy-mode=subprocess"]
    result = run(*args, "-v")
    result.assert_outcomes(passed=8)


@pytest.mark.parametrize("mode", ["inprocess", "subprocess"])
def test_the_readme_example(pytester, run, mode):
    pytester.makepyfile(test_orders=block(README_PLUGIN))
    run(f"--kpy-mode={mode}").assert_outcomes(passed=1)


def test_the_mode_and_settings_from_the_ini_file(pytester, run):
    pytester.makeini(
        """
        [pytest]
        kpy_mode = subprocess
        kpy_broker_scope = function
        kpy_broker_config =
            # broker settings, one a line
            num.partitions = 4
        """
    )
    pytester.makepyfile(
        test_ini="""
        dirs = []

        def test_default_partitions(kafka_broker, kafka_admin):
            assert kafka_broker.mode == "subprocess"
            assert kafka_admin.create_topic("defaults") == 4
            dirs.append(kafka_broker.data_dir)

        def test_a_broker_per_test(kafka_broker):
            dirs.append(kafka_broker.data_dir)
            assert dirs[0] != dirs[1]
        """
    )
    run().assert_outcomes(passed=2)


def test_one_broker_per_xdist_worker(pytester, run, tmp_path):
    out = tmp_path / "seen"
    out.mkdir()
    pytester.makepyfile(
        test_workers=f"""
        import os, pathlib, pytest

        @pytest.mark.parametrize("n", range(8))
        def test_write_bootstrap(kafka_broker, kafka_topic, n):
            worker = os.environ["PYTEST_XDIST_WORKER"]
            pathlib.Path({str(out)!r}, f"{{worker}}-{{n}}").write_text(kafka_broker.bootstrap)
        """
    )
    run("-n", "2").assert_outcomes(passed=8)
    by_worker: dict[str, set[str]] = {}
    for path in out.iterdir():
        by_worker.setdefault(path.name.split("-")[0], set()).add(path.read_text())
    assert sorted(by_worker) == ["gw0", "gw1"]
    assert all(len(seen) == 1 for seen in by_worker.values()), by_worker
    assert by_worker["gw0"] != by_worker["gw1"]


def test_an_unknown_marker_argument_is_a_usage_error(pytester, run):
    pytester.makepyfile(
        test_bad="""
        import pytest

        @pytest.mark.kafka_topic(partitons=3)
        def test_typo(kafka_topic):
            pass
        """
    )
    result = run()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*only partitions= and configs= are known*"])


def test_no_broker_starts_unless_a_test_asks(pytester, run):
    """Loading the plugin starts nothing and imports nothing of kpy's broker."""
    pytester.makepyfile(
        test_plain="""
        import sys, threading

        def test_plain():
            assert "kpy.server" not in sys.modules and "kpy.testing" not in sys.modules
            assert not any(t.name == "kpy-broker" for t in threading.enumerate())
        """
    )
    result = run("--trace-config")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*kpy*pytest_plugin*"])


def test_topic_names_are_unique_and_legal():
    names = {topic_name("test_x[a/b c]") for _ in range(100)}
    assert len(names) == 100
    for name in names:
        assert name.startswith("test_x-a-b-c-")
        assert all(c.isalnum() or c in "._-" for c in name) and len(name) <= 249


def test_a_topic_is_a_str_with_its_partitions():
    topic = KafkaTopic("orders", 3)
    assert topic == "orders" and topic.name == "orders" and topic.partitions == 3
    assert type(topic.name) is str
    assert json.dumps({"topic": topic}) == '{"topic": "orders"}'


def test_broker_settings_lines():
    assert broker_settings(["", "# note", "num.partitions = 3", "a=b=c"]) == {
        "num.partitions": "3",
        "a": "b=c",
    }
    with pytest.raises(pytest.UsageError):
        broker_settings(["no value"])


def test_the_entry_point_is_declared():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["entry-points"]["pytest11"] == {"kpy": "kpy.pytest_plugin"}
    assert "pytest" not in " ".join(project["dependencies"])
