"""Session set-up shared by every test: one Apache Kafka reference broker per run.

With ``KPY_REFERENCE=1`` (``make test`` sets it) the pytest process that starts the run (the
xdist controller, before it spawns workers) starts one ``ApacheKafkaProcess`` and exports its
address as ``KPY_REFERENCE_BOOTSTRAP``; workers inherit it, so tests that compare kpy with
Kafka share that broker instead of starting a JVM each. Without it, those tests start their
own (tests/integration/conftest.py ``kafka_reference``).
"""

from __future__ import annotations

import os
import shutil
import tempfile


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
