"""Integration fixtures: a real kpy broker process on an ephemeral port."""

from __future__ import annotations

import itertools
import os
import shutil
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


@pytest.fixture(scope="session")
def kafka_reference(tmp_path_factory):
    """The bootstrap address of an Apache Kafka 4.4 reference broker: the run's shared one
    (tests/conftest.py), else one of this worker's own. Without Java the test is skipped,
    except in CI, where it fails."""
    shared = os.environ.get("KPY_REFERENCE_BOOTSTRAP")
    if shared:
        yield _coordinators_ready(shared)
        return
    if shutil.which("java") is None and not os.environ.get("CI"):
        pytest.skip("Apache Kafka needs Java (and Maven for its jars)")
    from conformance.reference import ApacheKafkaProcess

    with ApacheKafkaProcess(tmp_path_factory.mktemp("kafka")) as kafka:
        yield _coordinators_ready(kafka.bootstrap)


def _coordinators_ready(bootstrap: str) -> str:
    """The reference with its group and transaction coordinators loaded: tests that send a
    group or transaction request straight to the broker then meet what a running cluster
    answers, not a fresh one's COORDINATOR_NOT_AVAILABLE."""
    from conformance.raw import coordinators_ready
    from conformance.wire import WireClient

    with WireClient(bootstrap) as wire:
        coordinators_ready(wire)
    return bootstrap


@pytest.fixture(params=["kpy", "kafka"])
def bootstrap(request):
    """kpy's module broker, then the Apache Kafka reference: a test taking it runs against
    both and asserts the same answers from each."""
    if request.param == "kpy":
        return request.getfixturevalue("broker").bootstrap
    return request.getfixturevalue("kafka_reference")


@pytest.fixture(scope="session")
def jvm(tmp_path_factory):
    """Kafka 4.4's tools and the programs of tests/java/ (compiled once for the run, shared
    by the xdist workers); skipped without Java, except in CI."""
    from tests.integration.kafka_java import shared_jvm

    return shared_jvm(tmp_path_factory)


@pytest.fixture
def broker_kind(request) -> str:
    """Which broker ("kpy" or "kafka") the parametrized ``bootstrap`` fixture gave this test."""
    return request.node.callspec.params["bootstrap"]
