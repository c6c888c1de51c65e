"""The conformance suite passes against kpy (anything not implemented is an expected failure)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.timeout(400)
def test_conformance_suite_passes_against_kpy(tmp_path):
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "conformance",
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
    results = json.loads((tmp_path / "r.json").read_text())
    failed = [c for c in results["checks"] if c["status"] == "FAIL"]
    assert not failed, failed[:5]
    assert out.returncode == 0, out.stdout[-2000:]
    passed = [c for c in results["checks"] if c["status"] == "PASS"]
    assert len(passed) >= 150
    report = (tmp_path / "r.md").read_text()
    assert "| area | check |" in report and "## Broker ApiVersions" in report
