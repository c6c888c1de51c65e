"""The conformance suite passes against kpy and against Apache Kafka 4.4: a check that Kafka
fails is a wrong check, so none can drift from Kafka unnoticed."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def run_suite(tmp_path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "conformance",
            *args,
            "--report",
            str(tmp_path / "r.md"),
            "--json",
            str(tmp_path / "r.json"),
        ],
        capture_output=True,
        text=True,
        timeout=380,
        cwd=ROOT,
    )


@pytest.mark.timeout(400)
def test_conformance_suite_passes_against_kpy(tmp_path):
    out = run_suite(tmp_path)
    results = json.loads((tmp_path / "r.json").read_text())
    failed = [c for c in results["checks"] if c["status"] == "FAIL"]
    assert not failed, failed[:5]
    assert out.returncode == 0, out.stdout[-2000:]
    passed = [c for c in results["checks"] if c["status"] == "PASS"]
    assert len(passed) >= 150
    report = (tmp_path / "r.md").read_text()
    assert "| area | check |" in report and "## Broker ApiVersions" in report


@pytest.mark.timeout(400)
def test_conformance_suite_passes_against_apache_kafka(tmp_path, kafka_reference):
    out = run_suite(tmp_path, "--bootstrap", kafka_reference, "--name", "Apache Kafka 4.4")
    results = json.loads((tmp_path / "r.json").read_text())
    failed = [c for c in results["checks"] if c["status"] == "FAIL"]
    assert not failed, failed[:5]
    assert out.returncode == 0, out.stdout[-2000:]
    assert len([c for c in results["checks"] if c["status"] == "PASS"]) >= 150


@pytest.mark.timeout(120)
def test_a_filter_matching_no_check_fails(tmp_path, broker):
    # pytest exits 5 when -k selects nothing; a mistyped filter must not pass as green.
    out = run_suite(tmp_path, "--bootstrap", broker.bootstrap, "-k", "no_check_has_this_name")
    assert out.returncode == 1, out.stdout[-2000:]
    assert "conformance: FAILED, no check ran: nothing matched -k 'no_check_has_this_name'" in (
        out.stdout
    )
    assert json.loads((tmp_path / "r.json").read_text())["checks"] == []


@pytest.mark.timeout(60)
def test_help_names_the_exit_codes():
    out = subprocess.run(
        [sys.executable, "-m", "conformance", "--help"],
        capture_output=True,
        text=True,
        timeout=50,
        cwd=ROOT,
    )
    assert out.returncode == 0, out.stderr
    assert "--bootstrap HOST:PORT" in out.stdout
    assert "exit codes:" in out.stdout
