"""kpy's pytest plugin: a Kafka broker, topics and an admin client for a test suite.

pytest loads it wherever kpy is installed (entry point ``pytest11``; ``-p no:kpy`` turns it
off). Loading costs nothing: no broker starts, and nothing of kpy's broker or client is imported,
until a test asks for one of the fixtures.

``kafka_broker``
    One broker per session (so one per pytest-xdist worker, each worker being a session of
    its own), on 127.0.0.1 and a free port, its data in a temporary directory. ``bootstrap``
    ("host:port"), ``data_dir``, ``mode``, ``running``; ``stop()``, ``start()`` (the same
    port and data again) and ``restart(crash=False)``. ``crash=True`` in subprocess mode is a
    SIGKILL; in process it ends the broker's thread as a killed process ends: the files are
    left as written (in the OS's cache, as after a SIGKILL, not a power cut), without the
    flush, checkpoints and clean-shutdown marker of a clean stop, so the next start recovers
    the logs past their recovery points. A broker a test stopped stays stopped until
    something starts it: ``kafka_topic`` and ``kafka_admin`` do.
``kafka_topic``
    A topic created for the test, with a unique name: a ``str`` (pass it wherever a topic name
    goes) with ``.name`` and ``.partitions``. ``@pytest.mark.kafka_topic(partitions=3,
    configs={"cleanup.policy": "compact"})`` sets how it is created (default: one partition).
``kafka_admin``
    An admin client (``kpy.client.sync.Admin``) connected to ``kafka_broker``, per test.

Options: ``--kpy-mode=inprocess|subprocess`` (ini ``kpy_mode``; default ``inprocess``: the
broker runs on a thread of the test process and starts in milliseconds; ``subprocess`` runs
``kpy serve`` as a child process). Ini ``kpy_broker_config``: broker settings, one
``key=value`` a line, over kpy.testing.TEST_SETTINGS (Kafka's defaults but for no initial
rebalance delay and three partitions per internal topic). Ini ``kpy_broker_scope``:
``session`` (default), ``package``, ``module`` or ``function`` (a broker per test).

pytest is not a dependency of kpy: only pytest imports this module.
"""

from __future__ import annotations

import itertools
import os
import re
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from kpy.testing import BrokerProcess, BrokerThread

MODES = ("inprocess", "subprocess")
SCOPES = ("session", "package", "module", "function")
TOPIC_TIMEOUT_S = 30.0


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("kpy", "kpy broker fixtures (kafka_broker, kafka_topic, kafka_admin)")
    group.addoption(
        "--kpy-mode",
        choices=MODES,
        default=None,
        help="run kafka_broker on a thread of the test process (inprocess, the default) "
        "or as a child process (subprocess); overrides the kpy_mode ini",
    )
    parser.addini("kpy_mode", "kafka_broker's mode: inprocess (default) or subprocess")
    parser.addini(
        "kpy_broker_config", "kafka_broker's settings, one key=value a line", type="linelist"
    )
    parser.addini("kpy_broker_scope", "kafka_broker's fixture scope (default: session)")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "kafka_topic(partitions=1, configs=None): how the kafka_topic fixture creates the "
        "test's topic",
    )


class KafkaBroker:
    """The ``kafka_broker`` fixture's value: a kpy broker on 127.0.0.1, in process (a
    kpy.testing.BrokerThread) or in a child process (a kpy.testing.BrokerProcess)."""

    def __init__(self, data_dir: Path, mode: str, settings: dict[str, object]) -> None:
        if mode not in MODES:
            raise pytest.UsageError(f"kpy_mode must be one of {', '.join(MODES)}: {mode!r}")
        self.data_dir = data_dir
        self.mode = mode
        self.settings = settings
        self._server: BrokerThread | BrokerProcess | None = None
        self.running = False

    @property
    def bootstrap(self) -> str:
        """host:port for clients (the same across restarts)."""
        assert self._server is not None, "kafka_broker was never started"
        return self._server.bootstrap

    def start(self) -> KafkaBroker:
        """Start it (again, on the same port and data, after ``stop``); ready on return."""
        if self.running:
            return self
        if self._server is None:
            from kpy.testing import BrokerProcess, BrokerThread

            if self.mode == "inprocess":
                self._server = BrokerThread(self.data_dir, self.settings)
            else:
                self._server = BrokerProcess(self.data_dir, overrides=self.settings)
        self._server.start()
        self.running = True
        return self

    def stop(self) -> None:
        """A clean shutdown; nothing if it is not running (nor half started)."""
        self.running = False
        if self._server is not None:
            self._server.stop()  # ends a start that failed half-way too; else nothing

    def restart(self, *, crash: bool = False) -> KafkaBroker:
        """Stop (``crash``: as a killed process, see the module's docstring) and start again."""
        if not self.running:
            return self.start()
        assert self._server is not None
        self.running = False
        self._server.restart(crash=crash)
        self.running = True
        return self

    def __repr__(self) -> str:
        where = self.bootstrap if self._server is not None else "not started"
        return f"<KafkaBroker {self.mode} {where} data={self.data_dir}>"


class KafkaTopic(str):
    """A topic's name, as a ``str``, with the partition count it was created with."""

    partitions: int

    def __new__(cls, name: str, partitions: int) -> KafkaTopic:
        topic = super().__new__(cls, name)
        topic.partitions = partitions
        return topic

    @property
    def name(self) -> str:
        """The name as a plain ``str`` (some APIs, confluent-kafka's ConfigResource, take
        nothing else)."""
        return str(self)

    def __repr__(self) -> str:
        return f"KafkaTopic({str(self)!r}, partitions={self.partitions})"


def _broker_scope(fixture_name: str, config: pytest.Config) -> Any:
    scope = config.getini("kpy_broker_scope") or "session"
    if scope not in SCOPES:
        raise pytest.UsageError(f"kpy_broker_scope must be one of {', '.join(SCOPES)}: {scope!r}")
    return scope


def broker_settings(lines: list[str]) -> dict[str, object]:
    """The ``kpy_broker_config`` ini lines as settings (blank lines and ``#`` comments
    skipped)."""
    settings: dict[str, object] = {}
    for line in lines:
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        if not sep or not key.strip():
            raise pytest.UsageError(f"kpy_broker_config: not key=value: {line!r}")
        settings[key.strip()] = value.strip()
    return settings


@pytest.fixture(scope=_broker_scope)
def kafka_broker(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    """A kpy broker (see kpy.pytest_plugin), started for the first test that asks."""
    config = request.config
    mode = config.getoption("kpy_mode") or config.getini("kpy_mode") or "inprocess"
    settings = broker_settings(config.getini("kpy_broker_config"))
    broker = KafkaBroker(tmp_path_factory.mktemp("kpy") / "data", mode, settings)
    try:
        broker.start()
        yield broker
    finally:
        broker.stop()  # a failed or interrupted start too: nothing of it outlives the session


@pytest.fixture
def kafka_admin(kafka_broker: KafkaBroker):
    """An admin client on ``kafka_broker`` (started if a test stopped it), closed after the
    test."""
    from kpy.client.sync import Admin

    kafka_broker.start()
    with Admin(kafka_broker.bootstrap) as admin:
        yield admin


_numbers = itertools.count()


def topic_name(test_name: str) -> str:
    """A unique, legal topic name that says which test it belongs to."""
    base = re.sub(r"[^a-zA-Z0-9_-]+", "-", test_name).strip("-")[:150] or "topic"
    return f"{base}-{os.getpid()}-{next(_numbers)}-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def kafka_topic(request: pytest.FixtureRequest, kafka_admin: Any) -> KafkaTopic:
    """A new topic on ``kafka_broker``, named after the test (left in place afterwards: the
    broker's data is temporary)."""
    import trio

    from kpy.client.admin import create_topic

    marker = request.node.get_closest_marker("kafka_topic")
    options = dict(marker.kwargs) if marker else {}
    partitions = int(options.pop("partitions", 1))
    configs = {
        key: str(value).lower() if isinstance(value, bool) else str(value)
        for key, value in (options.pop("configs", None) or {}).items()
    }
    if options or (marker and marker.args):
        raise pytest.UsageError(
            f"kafka_topic marker: only partitions= and configs= are known, not {marker}"
        )
    topic = KafkaTopic(topic_name(request.node.name), partitions)

    async def create(client: Any) -> None:
        with trio.fail_after(TOPIC_TIMEOUT_S):  # a broker that hangs fails the test's setup
            await create_topic(client, topic.name, partitions, configs)

    kafka_admin.run(create)
    return topic
