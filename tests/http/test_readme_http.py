"""The README's "Metrics and health" section: its curl lines run, its table names every
metric /metrics has."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from kpy.http.metrics import METRICS
from kpy.testing import BrokerProcess
from tests.test_readme import README, block

CURL = "curl -s http://127.0.0.1:8080/health"


def section() -> str:
    text = README.read_text()
    return text[text.index("## Metrics and health\n") : text.index("## Connecting clients\n")]


@pytest.mark.skipif(shutil.which("curl") is None, reason="needs curl")
def test_curl_lines_run(tmp_path):
    with BrokerProcess(tmp_path / "data", overrides={"http.listeners": "http://127.0.0.1:0"}) as b:
        url = b.http
        from confluent_kafka import Producer

        producer = Producer({"bootstrap.servers": b.bootstrap})
        producer.produce("readme-metrics", b"v")
        assert producer.flush(15) == 0
        outputs = []
        for line in block(CURL).splitlines():
            command = line.split("  #")[0].replace("http://127.0.0.1:8080", url)
            out = subprocess.run(command, shell=True, capture_output=True, text=True, timeout=30)
            assert out.returncode == 0, (command, out.stderr)
            outputs.append(out.stdout)
    assert '"status":"ready"' in outputs[0]
    shown = outputs[1].splitlines()
    assert 'kafka_server_brokertopicmetrics_messagesin_total{topic="readme-metrics"} 1.0' in shown
    assert "kafka_server_brokertopicmetrics_messagesin_total 1.0" in shown


def test_the_table_lists_every_metric():
    rows = re.findall(r"^\| `(kafka_\w+)` \| (\w+) \|", section(), re.MULTILINE)
    suffix = {"counter": "_total", "gauge": "", "histogram": ""}
    expected = [(name + suffix[kind], kind) for name, (kind, _, _) in METRICS.items()]
    assert rows == expected
