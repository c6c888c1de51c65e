"""Helpers shared by the integration tests."""

from __future__ import annotations

import os
import shutil
import time

import pytest


def wait_for(predicate, timeout=15.0, interval=0.02, message="condition"):
    """Poll ``predicate`` until it returns a truthy value or the deadline passes."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {message}")
        time.sleep(interval)


def kcat_path():
    return shutil.which("kcat") or shutil.which("kafkacat")


requires_kcat = pytest.mark.skipif(kcat_path() is None, reason="kcat is not installed")

os.environ.setdefault("PYTHONUNBUFFERED", "1")
