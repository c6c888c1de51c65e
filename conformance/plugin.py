"""pytest plugin of the conformance suite: target broker, fixtures, result matrix."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import pytest

from conformance.wire import WireClient

AREAS = [
    "connection",
    "metadata",
    "produce",
    "fetch",
    "offsets",
    "admin",
    "groups",
    "committed-offsets",
    "transactions",
    "bad-input",
]


def pytest_addoption(parser):
    parser.addoption("--bootstrap", default=None, help="HOST:PORT of the broker under test")


def pytest_configure(config):
    config.addinivalue_line("markers", "area(name): the behaviour area a check belongs to")
    config.addinivalue_line(
        "markers", "kafka(ref): the Kafka behaviour (KIP or doc section) checked"
    )


@pytest.fixture(scope="session")
def bootstrap(request) -> str:
    value = request.config.getoption("--bootstrap")
    if not value:
        pytest.exit("--bootstrap is required", returncode=2)
    return value


@pytest.fixture
def wire(bootstrap):
    with WireClient(bootstrap) as client:
        yield client


@dataclass
class Outcome:
    area: str
    check: str
    driver: str
    status: str  # PASS, FAIL, SKIP, XFAIL
    reason: str = ""
    doc: str = ""
    nodeid: str = ""  # pytest's id, e.g. for --deselect in a rerun (side_by_side.py)


@dataclass
class Results:
    outcomes: list[Outcome] = field(default_factory=list)
    started: float = field(default_factory=time.time)


RESULTS = Results()


def _describe(item) -> tuple[str, str, str, str]:
    marker = item.get_closest_marker("area")
    area = marker.args[0] if marker else item.module.__name__.rsplit("_", 1)[-1]
    params = dict(getattr(item, "callspec", None).params) if hasattr(item, "callspec") else {}
    driver = str(params.pop("driver", "raw"))
    name = item.originalname
    if params:
        name += "[" + ",".join(str(v) for v in params.values()) + "]"
    ref = item.get_closest_marker("kafka")
    doc = (ref.args[0] + ": " if ref else "") + (
        (item.function.__doc__ or "").strip().splitlines() or [""]
    )[0]
    return area, name, driver, doc


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.when == "call" or (report.when == "setup" and report.outcome != "passed"):
        area, name, driver, doc = _describe(item)
        if hasattr(report, "wasxfail"):
            status = "XFAIL" if report.skipped else "PASS"
            reason = report.wasxfail
        elif report.passed:
            status, reason = "PASS", ""
        elif report.skipped:
            status = "SKIP"
            reason = (
                report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
            )
        else:
            status = "FAIL"
            crash = getattr(report.longrepr, "reprcrash", None)
            reason = (
                (crash.message if crash else str(report.longrepr)).strip().splitlines()[0][:200]
            )
        RESULTS.outcomes.append(Outcome(area, name, driver, status, reason, doc, item.nodeid))
