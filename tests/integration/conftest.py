"""Integration fixtures: a real kpy broker process on an ephemeral port."""

from __future__ import annotations

import itertools
import os
import shutil
import time
import uuid

import pytest

from kpy.testing import BrokerProcess

_names = itertools.count()


@pytest.fixture(scope="module")
def broker(tmp_path_factory):
    """One broker shared by a test module; tests use unique topic names."""
    with BrokerProcess(tmp_path_factory.mktemp("kpy") / "data") as proc:
        yield proc


@pytest.fixture
def fresh_broker(tmp_path):
    """A broker of the test's own, for tests that restart or break it."""
    with BrokerProcess(tmp_path / "data") as proc:
        yield proc


@pytest.fixture
def topic_name(request):
    base = "".join(c if c.isalnum() else "-" for c in request.node.name)[:60]
    return f"{base}-{uuid.uuid4().hex[:8]}-{next(_names)}"


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
