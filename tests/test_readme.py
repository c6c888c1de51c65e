"""The README stays true to the code: its tables match, and its snippets run.

Every fenced block of README.md is either run here (the client snippets against a real
broker, the kcat and kpy command lines, the fixture example, the Kafka tool sessions) or listed
in NOT_RUN with the reason; a new block fails ``test_every_snippet_is_run`` until it is one or
the other.
"""

from __future__ import annotations

import os
import re
import select
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conformance.wire import WireClient
from kpy.cli import api_versions_table
from kpy.protocol.messages.list_offsets import ListOffsetsRequest
from kpy.testing import BrokerProcess
from tests.integration.helpers import kcat_path, requires_kcat

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
KPY = [sys.executable, "-m", "kpy"]

# Blocks that are not run, by how they start, and why.
NOT_RUN = {
    "make run ": "it installs a venv and serves on the fixed port 9092; make test is the suite",
}


def blocks() -> list[tuple[str, str]]:
    """(language, text) of every fenced block in the README."""
    return re.findall(r"^```(\w*)\n(.*?)^```$", README.read_text(), re.MULTILINE | re.DOTALL)


def block(starting: str) -> str:
    found = [text for _, text in blocks() if text.startswith(starting)]
    assert len(found) == 1, f"one README block starts with {starting!r}"
    return found[0]


CLIENTS = "# confluent-kafka (librdkafka)\n"
FIXTURE = "from kpy.testing import BrokerProcess\n"
KCAT = "kcat -b localhost:9092 -L"
KPY_SERVE = "pip install -e ."
READY = "kpy ready: "
LOCKED = "kpy: cannot start: Failed to acquire lock"
SESSION = "$ "  # a console session of Kafka's tools: commands and the output they print
RUN_HERE = (CLIENTS, FIXTURE, KCAT, KPY_SERVE, READY, LOCKED, SESSION)

# Blocks run by the tests of their tool (which build or fetch it), by how they start.
README_STREAMS = 'echo "the quick brown fox" | kcat '
README_CONNECT_CONFIG = "bootstrap.servers=localhost:9092\ngroup.id=connect-cluster\n"
README_CONNECT = "bin/connect-distributed.sh "
README_FRANZ_GO = "cd tests/go && go run . "
README_GROUPS = "$ kpy group list\n"
README_INSTALL = "pipx install kpy-broker "
README_PLUGIN = "# test_orders.py: "
RUN_ELSEWHERE = {
    README_INSTALL: "tests/test_install.py",
    README_PLUGIN: "tests/test_pytest_plugin.py (both modes) and tests/test_install.py",
    README_STREAMS: "tests/integration/test_kafka_streams.py",
    README_CONNECT_CONFIG: "tests/integration/test_kafka_connect.py",
    README_CONNECT: "tests/integration/test_kafka_connect.py",
    README_FRANZ_GO: "tests/integration/test_franz_go.py",
    "curl -s http://127.0.0.1:8080/health": "tests/http/test_readme_http.py",
    README_GROUPS: "tests/integration/test_cli_group.py",
}


def test_every_snippet_is_run():
    for _, text in blocks():
        assert text.startswith((*NOT_RUN, *RUN_HERE, *RUN_ELSEWHERE)), (
            f"no test runs: {text.splitlines()[0]}"
        )


def test_api_table_matches_registry():
    text = README.read_text()
    start = text.index("<!-- api-table:start -->\n") + len("<!-- api-table:start -->\n")
    end = text.index("<!-- api-table:end -->")
    assert text[start:end] == api_versions_table(), "update README with `kpy api-versions`"


def test_readme_shows_the_two_commands():
    text = README.read_text()
    assert "make run" in text and "make test" in text


@pytest.fixture
def broker(tmp_path):
    with BrokerProcess(tmp_path / "data") as broker:
        yield broker


def _high_watermark(bootstrap: str, topic: str) -> int:
    partition = ListOffsetsRequest.ListOffsetsPartition(partition_index=0, timestamp=-1)
    request = ListOffsetsRequest(
        replica_id=-1,
        topics=[ListOffsetsRequest.ListOffsetsTopic(name=topic, partitions=[partition])],
    )
    with WireClient(bootstrap) as c:
        return c.send(request, 7).topics[0].partitions[0].offset


@pytest.mark.timeout(90)
def test_client_snippets_run(broker):
    code = block(CLIENTS).replace("localhost:9092", broker.bootstrap)
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=80, cwd=ROOT
    )
    assert out.returncode == 0, out.stderr
    # confluent-kafka and kafka-python each read back the first record.
    assert out.stdout.splitlines() == ["b'v'", "b'v'"]
    # One record from each client: the aiokafka coroutine ran too.
    assert _high_watermark(broker.bootstrap, "demo") == 3


def test_fixture_example_runs(tmp_path):
    namespace: dict = {}
    exec(block(FIXTURE), namespace)
    seen = []

    def use_kafka(bootstrap: str) -> None:
        with WireClient(bootstrap) as c:
            seen.append(c.send(ListOffsetsRequest(replica_id=-1, topics=[]), 7))

    namespace["use_kafka"] = use_kafka
    namespace["test_something"](tmp_path)
    assert len(seen) == 1


@requires_kcat
def test_kcat_lines_run(broker):
    outputs = []
    for line in block(KCAT).splitlines():
        command = line.split("#")[0].strip().replace("localhost:9092", broker.bootstrap)
        command = command.replace("kcat ", f"{kcat_path()} ", 1)
        out = subprocess.run(command, shell=True, capture_output=True, text=True, timeout=30)
        assert out.returncode == 0, (command, out.stderr)
        outputs.append(out.stdout)
    assert "1 brokers:" in outputs[0]
    assert outputs[2].splitlines() == ["hello"]


def _serve_until_ready(argv: list[str]) -> str:
    """Start ``kpy serve ...``, wait for its ready line, stop it with SIGTERM; the line."""
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, cwd=ROOT)
    assert proc.stdout is not None
    deadline = time.monotonic() + 30
    seen = b""
    try:
        while b"\n" not in seen:
            remaining = deadline - time.monotonic()
            assert remaining > 0, f"no ready line from {argv}"
            if select.select([proc.stdout], [], [], remaining)[0]:
                chunk = os.read(proc.stdout.fileno(), 4096)
                assert chunk, f"{argv} exited with {proc.wait()}"
                seen += chunk
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=10)
        proc.stdout.close()
    assert code == 0
    return seen.decode().splitlines()[0]


def test_kpy_serve_lines_run(tmp_path):
    lines = block(KPY_SERVE).splitlines()
    assert lines[0].startswith("pip install -e .")  # not run: it would change this venv
    ready = []
    for n, line in enumerate(lines[1:]):
        argv = shlex.split(line)
        assert argv[:2] == ["kpy", "serve"]
        # The sample config's fixed port and data dir, and /tmp/kpy, made private to this run.
        argv = [*KPY, *argv[1:], "--override", "listeners=PLAINTEXT://127.0.0.1:0"]
        argv += ["--override", "advertised.listeners=PLAINTEXT://127.0.0.1:0"]
        argv += ["--override", "http.listeners=http://127.0.0.1:0"]  # the sample's is 8080
        argv = [a.replace("/tmp/kpy", str(tmp_path / "kpy")) for a in argv]
        argv += ["--override", f"log.dirs={tmp_path / f'data{n}'}"]
        ready.append(_serve_until_ready(argv))
    pattern = r"kpy ready: bootstrap=127\.0\.0\.1:\d+ (http=http://127\.0\.0\.1:\d+ )?data=\S+ .*"
    assert all(re.fullmatch(pattern, r) for r in ready)


def test_ready_line_example_has_the_real_shape(tmp_path):
    example = block(READY).strip()
    pattern = (
        r"kpy ready: bootstrap=\S+:\d+ (listening=\S+ )?(http=\S+ )?data=\S+ \(started in \d+ ms\)"
    )
    assert re.fullmatch(pattern, example)
    real = _serve_until_ready(
        [*KPY, "serve", "--override", f"log.dirs={tmp_path}"]
        + ["--override", "listeners=PLAINTEXT://127.0.0.1:0"]
    )
    assert re.fullmatch(pattern, real), real


def test_locked_data_dir_example_is_what_kpy_prints(broker):
    example = block(LOCKED).strip()
    data = str(broker.data_dir)
    argv = [*KPY, "serve", "--override", f"log.dirs={data}"]
    argv += ["--override", "listeners=PLAINTEXT://127.0.0.1:0"]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=30, cwd=ROOT)
    assert out.returncode == 1
    assert out.stderr.strip() == example.replace("/tmp/kafka-logs", data)


def _session(text: str) -> list[tuple[str, list[str]]]:
    """(command, the stdout lines shown after it) of each ``$ `` line of a session block."""
    steps: list[tuple[str, list[str]]] = []
    for line in text.splitlines():
        if line.startswith("$ "):
            steps.append((line[2:], []))
        else:
            steps[-1][1].append(line)
    return steps


def _shown_matches(shown: list[str], printed: list[str]) -> bool:
    """Whether ``printed`` is what the README shows: blank lines and runs of white space do
    not count, ``...`` in a line stands for any text and a line of ``...`` for any lines."""

    def norm(lines: list[str]) -> list[str]:
        return [" ".join(line.split()) for line in lines if line.strip()]

    patterns = [
        None if line == "..." else re.compile(".*".join(map(re.escape, line.split("..."))))
        for line in norm(shown)
    ]
    lines = norm(printed)

    def match(i: int, j: int) -> bool:
        if i == len(patterns):
            return j == len(lines)
        pattern = patterns[i]
        if pattern is None:
            return any(match(i + 1, k) for k in range(j, len(lines) + 1))
        return j < len(lines) and bool(pattern.fullmatch(lines[j])) and match(i + 1, j + 1)

    return match(0, 0)


def test_shown_output_matching():
    assert _shown_matches(["a  b", "...", "c ... e"], ["a\tb", "x", "", "y", "c d e"])
    assert _shown_matches(["a", "..."], ["a"])
    assert not _shown_matches(["a", "c"], ["a", "b", "c"])
    assert not _shown_matches(["a ... e"], ["a e"])


@pytest.mark.timeout(300)
def test_kafka_tool_sessions_run(broker, tmp_path, tmp_path_factory):
    """Every command of the README's Kafka tool sessions, in order, against one kpy broker,
    through ``kpy kafka-tool`` (and ``java -cp`` by hand) as a user types them (with the
    tests' class archive in KAFKA_OPTS, tests/integration/kafka_java.py)."""
    from tests.integration.kafka_java import shared_jvm

    jvm = shared_jvm(tmp_path_factory)
    jars = jvm.jars
    shim = tmp_path / "bin" / "kpy"
    shim.parent.mkdir()
    shim.write_text(f'#!/bin/sh\nexec {sys.executable} -m kpy "$@"\n')
    shim.chmod(0o755)
    env = dict(jvm.env, KPY_KAFKA_JARS=str(jars), PYTHONPATH=str(ROOT))
    env["KPY_BROKERS"] = broker.bootstrap  # the kpy command's default broker
    env["PATH"] = f"{shim.parent}{os.pathsep}{env['PATH']}"
    sessions = [
        text
        for _, text in blocks()
        if text.startswith(SESSION) and not text.startswith(tuple(RUN_ELSEWHERE))
    ]
    assert len(sessions) >= 8
    for text in sessions:
        text = text.replace("localhost:9092", broker.bootstrap)
        text = text.replace(".cache/kafka-4.4.0", str(jars))
        text = text.replace("data/greetings-0", f"{broker.data_dir}/greetings-0")
        for command, shown in _session(text):
            out = subprocess.run(
                ["bash", "-c", command],
                cwd=tmp_path,
                env=env,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=120,
            )
            assert out.returncode == 0, f"{command}\n{out.stderr[-2000:]}"
            printed = out.stdout.splitlines()
            assert _shown_matches(shown, printed), f"{command}\n{out.stdout}\n{out.stderr[-2000:]}"
