"""The kpy process: CLI, ready line, clean shutdown, bad configuration."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time

import pytest

from kpy.handlers import HANDLERS
from kpy.metadata import validate_topic_name
from kpy.testing import BrokerProcess


def test_bad_config_is_a_clear_error(tmp_path):
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "kpy",
            "serve",
            "--override",
            "num.partitions=lots",
            "--override",
            f"log.dirs={tmp_path}",
        ],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert out.returncode == 1
    assert "num.partitions" in out.stderr and "lots" in out.stderr


def test_sample_config_loads(tmp_path):
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            "from kpy.config import Config; c = Config.from_file('config/server.properties'); print(c.log_dirs())",
        ],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert out.returncode == 0 and "./data" in out.stdout


def test_sigterm_shuts_down_quickly_and_cleanly(tmp_path):
    broker = BrokerProcess(tmp_path / "data").start()
    assert broker.bootstrap.startswith("127.0.0.1:") and broker.port > 0
    started = time.monotonic()
    assert broker.stop(timeout=10) == 0
    assert time.monotonic() - started < 3
    assert (tmp_path / "data" / ".kafka_cleanshutdown").exists()
    assert (tmp_path / "data" / "meta.properties").read_text().count("cluster.id=") == 1


def test_cluster_id_is_stable_across_restarts(tmp_path):
    from kpy.config import parse_properties

    with BrokerProcess(tmp_path / "data") as broker:
        first = parse_properties((tmp_path / "data" / "meta.properties").read_text())["cluster.id"]
        broker.restart()
        second = parse_properties((tmp_path / "data" / "meta.properties").read_text())["cluster.id"]
    assert first == second and len(first) == 22


def test_topic_name_rules():
    import pytest

    from kpy.protocol.error_codes import KafkaError

    validate_topic_name("ok.name_1-2")
    for bad in ("", ".", "..", "a" * 250, "has space", "slash/no"):
        with pytest.raises(KafkaError):
            validate_topic_name(bad)


# Serves on port 0 in a child process and reports which handler and message modules (and
# whether crc32c) are imported: after start-up, then after one ApiVersions request.
_IMPORTS_SCRIPT = """
import json, sys, tempfile, trio
from conformance.wire import WireClient
from kpy.config import Config
from kpy.protocol.messages.api_versions import ApiVersionsRequest
from kpy.server import serve

def loaded():
    prefixes = ("kpy.handlers.", "kpy.protocol.messages.", "crc32c")
    names = [m for m in sys.modules if m.startswith(prefixes)]
    return json.dumps(sorted(names))

def ask(bootstrap):
    with WireClient(bootstrap) as c:
        request = ApiVersionsRequest(client_software_name="t", client_software_version="1")
        return len(c.send(request, 3).api_keys)

async def main():
    with tempfile.TemporaryDirectory() as d:
        config = Config({"listeners": "PLAINTEXT://127.0.0.1:0", "log.dirs": d})
        async with trio.open_nursery() as nursery:
            info = await nursery.start(serve, config)
            print(loaded())
            print(await trio.to_thread.run_sync(ask, info.bootstrap))
            print(loaded())
            nursery.cancel_scope.cancel()

trio.run(main)
"""


def test_handlers_are_imported_on_first_use():
    out = subprocess.run(
        [sys.executable, "-c", _IMPORTS_SCRIPT], capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    at_start, apis, after = out.stdout.splitlines()
    # The script itself imported the ApiVersions messages, to build its request.
    assert json.loads(at_start) == [
        "kpy.protocol.messages.api_versions",
        "kpy.protocol.messages.request_header",
        "kpy.protocol.messages.response_header",
    ]
    assert int(apis) == len(HANDLERS)  # every API is advertised nonetheless
    handlers = [m for m in json.loads(after) if m.startswith("kpy.handlers.api_")]
    assert handlers == ["kpy.handlers.api_18_api_versions"]


class _SlowToImportKpy(BrokerProcess):
    """Spends a second after exec before kpy is imported at all."""

    def command(self) -> list[str]:
        script = (
            "import runpy, sys, time; time.sleep(1); sys.argv[0] = 'kpy'; "
            "runpy.run_module('kpy', run_name='__main__')"
        )
        return [sys.executable, "-c", script, *super().command()[3:]]


@pytest.mark.skipif(sys.platform != "linux", reason="the process start time comes from /proc")
def test_ready_line_counts_from_the_process_start(tmp_path):
    # The interpreter's start and the imports count, not only kpy's own start-up: the second
    # spent before kpy was imported is in the figure.
    with _SlowToImportKpy(tmp_path / "data") as broker:
        ready = broker.output[-1]
    match = re.search(r"\(started in (\d+) ms\)$", ready)
    assert match, ready
    assert int(match.group(1)) >= 1000, ready
