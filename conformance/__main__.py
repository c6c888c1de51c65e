"""python -m conformance [--bootstrap HOST:PORT] [--report FILE.md] [--json FILE] [-k FILTER]

Without --bootstrap a kpy broker is started on a free port for the run. Options it does not
know go to pytest (--timeout, --deselect, ...). Exit codes: see EXIT_CODES and README.md.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import pytest

from conformance import plugin, report
from conformance.wire import ConnectionClosed, WireClient

CHECKS = Path(__file__).resolve().parent / "checks"

EXIT_CODES = """\
exit codes:
  0  every check that ran passed (skipped and expected failures allowed)
  1  a check failed, no check ran (nothing matched -k), or pytest stopped with an error
  2  bad arguments"""

# pytest's exit codes other than 0 (all passed) and 1 (some failed), as the one-line reason.
PYTEST_STOPPED = {
    2: "pytest was interrupted",
    3: "pytest hit an internal error",
    4: "pytest refused its command line",
    5: "no check ran",
}


def broker_api_versions(bootstrap: str) -> list[tuple[int, str, int, int]]:
    from kpy.protocol import api_keys
    from kpy.protocol.messages.api_versions import ApiVersionsRequest

    with WireClient(bootstrap) as c:
        resp = c.send(
            ApiVersionsRequest(client_software_name="kpy-conformance", client_software_version="1"),
            3,
        )
    return [
        (
            k.api_key,
            api_keys.API_KEYS[k.api_key].name if k.api_key in api_keys.API_KEYS else "?",
            k.min_version,
            k.max_version,
        )
        for k in resp.api_keys
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m conformance",
        description="Run kpy's conformance checks against a Kafka-compatible broker.",
        epilog=EXIT_CODES + "\nOther options are passed to pytest (e.g. --timeout SECONDS).",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--bootstrap", metavar="HOST:PORT", help="the broker to check (default: start a kpy)"
    )
    parser.add_argument("--report", help="write the Markdown matrix here")
    parser.add_argument("--json", help="write the JSON results here")
    parser.add_argument("-k", dest="filter", help="only checks matching this pytest -k expression")
    parser.add_argument("--name", help="broker name for the report")
    parser.add_argument("-x", action="store_true", help="stop at the first failure")
    args, extra = parser.parse_known_args(argv)

    broker_proc = None
    bootstrap = args.bootstrap
    if not bootstrap:
        from kpy.testing import BrokerProcess

        tmp = tempfile.mkdtemp(prefix="kpy-conformance-")
        broker_proc = BrokerProcess(Path(tmp) / "data").start()
        bootstrap = broker_proc.bootstrap
    try:
        pytest_args = [
            str(CHECKS),
            f"--bootstrap={bootstrap}",
            "-q",
            "--rootdir",
            str(CHECKS.parent),
            "-p",
            "no:cacheprovider",
            "-o",
            "addopts=",
        ]
        if args.filter:
            pytest_args += ["-k", args.filter]
        if args.x:
            pytest_args.append("-x")
        code = pytest.main(pytest_args + extra, plugins=[plugin])
        name = args.name or bootstrap
        try:
            versions = broker_api_versions(bootstrap)
        except (OSError, ConnectionClosed) as exc:
            # A broker that died during the run still gets its report, without the table.
            print(f"conformance: no ApiVersions answer after the run: {exc!r}", file=sys.stderr)
            versions = []
        outcomes = plugin.RESULTS.outcomes
        if args.report:
            Path(args.report).write_text(report.to_markdown(outcomes, name, versions))
        if args.json:
            Path(args.json).write_text(report.to_json(outcomes, name, versions))
        totals = report.summarize(outcomes)
        passed = sum(t["PASS"] for t in totals.values())
        failed = sum(t["FAIL"] for t in totals.values())
        skipped = sum(t["SKIP"] for t in totals.values())
        xfailed = sum(t["XFAIL"] for t in totals.values())
        print(
            f"conformance: {passed} passed, {failed} failed, {skipped} skipped, {xfailed} xfailed against {name}"
        )
        if code in PYTEST_STOPPED:
            # Nothing run is not a pass: a mistyped -k must not look green.
            why = f": nothing matched -k {args.filter!r}" if code == 5 and args.filter else ""
            print(f"conformance: FAILED, {PYTEST_STOPPED[code]}{why} (pytest exit {code})")
            return 1
        return 0 if code == 0 and failed == 0 else 1
    finally:
        if broker_proc is not None:
            broker_proc.close()


if __name__ == "__main__":
    sys.exit(main())
