"""Session set-up shared by every test: one Apache Kafka reference broker per run.

With ``KPY_REFERENCE=1`` (``make test`` sets it) the pytest process that starts the run (the
xdist controller, before it spawns workers) starts one ``ApacheKafkaProcess`` and exports its
address as ``KPY_REFERENCE_BOOTSTRAP``; workers inherit it, so tests that compare kpy with
Kafka share that broker instead of starting a JVM each. Without it, those tests start their
own (tests/integration/conftest.py ``kafka_reference``).

``async def`` tests run under ``trio.run`` (no plugin needed); one that takes the ``mock_clock``
fixture runs on that clock (kpy/testing.py says what a MockClock does with real sockets).
"""

from __future__ import annotations

import functools
import inspect
import os
import shutil
import tempfile

import pytest
import trio
import trio.testing


def pytest_configure(config):
    if hasattr(config, "workerinput") or os.environ.get("KPY_REFERENCE") != "1":
        return
    if os.environ.get("KPY_REFERENCE_BOOTSTRAP"):
        return
    if shutil.which("java") is None and not os.environ.get("CI"):
        return  # the tests that need Kafka skip themselves
    from conformance.reference import ApacheKafkaProcess

    work = tempfile.mkdtemp(prefix="kpy-reference-kafka-")
    kafka = ApacheKafkaProcess(work).start()
    config._kpy_reference = (kafka, work)
    os.environ["KPY_REFERENCE_BOOTSTRAP"] = kafka.bootstrap


def pytest_unconfigure(config):
    started = getattr(config, "_kpy_reference", None)
    if started is not None:
        kafka, work = started
        kafka.stop()
        shutil.rmtree(work, ignore_errors=True)
        os.environ.pop("KPY_REFERENCE_BOOTSTRAP", None)


@pytest.fixture
def mock_clock() -> trio.testing.MockClock:
    """A frozen trio clock for an ``async def`` test: time moves only by ``mock_clock.jump``."""
    return trio.testing.MockClock()


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem):
    if not inspect.iscoroutinefunction(pyfuncitem.obj):
        return None
    args = {name: pyfuncitem.funcargs[name] for name in pyfuncitem._fixtureinfo.argnames}
    trio.run(functools.partial(pyfuncitem.obj, **args), clock=args.get("mock_clock"))
    return True
