"""Mutation runs: show that every conformance check can fail.

`python -m conformance.mutations [--only NAME ...] [--out conformance/MUTATIONS.md] [--json F]`

Each mutation breaks one Kafka behaviour in a copy of kpy's source (an exact text replacement
that must match once, so a mutation cannot silently go stale), starts a broker from that copy,
runs the conformance suite against it (or the checks its filter selects) and records which
checks failed. The report lists, per mutation, the checks it made fail, then every check with
the mutations that made it fail, and the checks never seen failing (the goal: none).
Nothing here touches the real source tree; the copies live in temporary directories.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from kpy.testing import BrokerProcess

ROOT = Path(__file__).resolve().parents[1]
RUN_TIMEOUT_S = 600
CHECK_TIMEOUT_S = 15  # a check that hangs against a broken broker counts as failed


@dataclass(frozen=True)
class Mutation:
    name: str
    what: str  # the Kafka behaviour this breaks
    path: str  # under kpy/
    old: str
    new: str
    only: str | None = None  # a pytest -k expression; None runs every check


def _no_api(key: int, name: str, only: str | None = None) -> Mutation:
    """The broker stops answering one API (the connection is closed, as for an unknown key)."""
    return Mutation(
        f"no-{name}",
        f"{name} requests are not answered",
        "dispatch.py",
        "    reg = REGISTRY.get(key)\n",
        f"    reg = None if key == {key} else REGISTRY.get(key)\n",
        only,
    )


GROUPS, TXN, ADMIN = "test_groups", "test_transactions", "test_admin"

MUTATIONS: list[Mutation] = [
    # -- one API at a time (each run limited to the checks that may use it) --------------------
    _no_api(0, "Produce", "test_produce or test_fetch or test_offsets"),
    _no_api(1, "Fetch", "test_fetch"),
    _no_api(2, "ListOffsets", "test_offsets"),
    _no_api(3, "Metadata", "test_metadata or test_connection"),
    _no_api(8, "OffsetCommit", GROUPS),
    _no_api(9, "OffsetFetch", GROUPS),
    _no_api(10, "FindCoordinator", f"{GROUPS} or {TXN}"),
    _no_api(11, "JoinGroup", GROUPS),
    _no_api(12, "Heartbeat", GROUPS),
    _no_api(13, "LeaveGroup", GROUPS),
    _no_api(15, "DescribeGroups", GROUPS),
    _no_api(16, "ListGroups", GROUPS),
    _no_api(18, "ApiVersions", "test_connection or test_metadata"),
    _no_api(19, "CreateTopics", ADMIN),
    _no_api(20, "DeleteTopics", ADMIN),
    _no_api(21, "DeleteRecords", f"{ADMIN} or test_offsets"),
    _no_api(22, "InitProducerId", f"{TXN} or test_produce"),
    _no_api(23, "OffsetForLeaderEpoch", "test_offsets"),
    _no_api(24, "AddPartitionsToTxn", TXN),
    _no_api(25, "AddOffsetsToTxn", TXN),
    _no_api(26, "EndTxn", TXN),
    _no_api(28, "TxnOffsetCommit", TXN),
    _no_api(32, "DescribeConfigs", ADMIN),
    _no_api(33, "AlterConfigs", ADMIN),
    _no_api(37, "CreatePartitions", ADMIN),
    _no_api(42, "DeleteGroups", GROUPS),
    _no_api(43, "ElectLeaders", ADMIN),
    _no_api(44, "IncrementalAlterConfigs", ADMIN),
    _no_api(47, "OffsetDelete", GROUPS),
    _no_api(60, "DescribeCluster", ADMIN),
    _no_api(61, "DescribeProducers", TXN),
    _no_api(65, "DescribeTransactions", TXN),
    _no_api(66, "ListTransactions", TXN),
    _no_api(68, "ConsumerGroupHeartbeat", GROUPS),
    _no_api(69, "ConsumerGroupDescribe", GROUPS),
    _no_api(75, "DescribeTopicPartitions", ADMIN),
    Mutation(
        "bad-frame-stops-broker",
        "a bad frame closes only its own connection; the broker keeps serving others",
        "connection.py",
        '            log.warning("%s closing connection from %s: %s", self.id, self.peer, exc)\n',
        "            os._exit(3)\n",
        "test_connection",
    ),
    # -- one behaviour at a time ------------------------------------------------------------
    Mutation(
        "produce-offsets-restart-at-zero",
        "base offsets are dense and increase (each produce is answered with offset 0)",
        "handlers/api_00_produce.py",
        "        base_offset=result.base_offset,\n",
        "        base_offset=0,\n",
        "test_produce",
    ),
    Mutation(
        "produce-ignores-invalid-acks",
        "acks outside 0, 1, -1 is INVALID_REQUIRED_ACKS",
        "handlers/api_00_produce.py",
        "    if req.acks not in (0, 1, -1):\n",
        "    if False:\n",
        "test_produce",
    ),
    Mutation(
        "no-crc-check",
        "a batch whose CRC does not match is CORRUPT_MESSAGE",
        "protocol/records.py",
        "    if not check_crc(buf, pos, size):\n",
        "    if False:\n",
        "test_produce",
    ),
    Mutation(
        "fetch-ignores-max-wait",
        "a fetch with nothing to return waits up to max_wait_ms (long poll)",
        "broker.py",
        "            with trio.move_on_after(timeout_s):\n",
        "            with trio.move_on_after(0):\n",
        "test_fetch",
    ),
    Mutation(
        "list-offsets-latest-is-zero",
        "ListOffsets latest (-1) is the high watermark",
        "handlers/api_02_list_offsets.py",
        "        found = (offset, -1)\n",
        "        found = (0, -1)\n",
        "test_offsets",
    ),
    Mutation(
        "generation-not-bumped",
        "every rebalance starts a new generation",
        "coordinator/groups.py",
        "        group.generation_id += 1\n",
        "        group.generation_id += 0\n",
        "test_groups",
    ),
]


def apply(mutation: Mutation, package: Path) -> None:
    """Apply ``mutation`` to the kpy package copy at ``package``."""
    path = package / mutation.path
    text = path.read_text()
    count = text.count(mutation.old)
    if count != 1:
        raise SystemExit(
            f"mutation {mutation.name}: text found {count} times in kpy/{mutation.path}"
        )
    path.write_text(text.replace(mutation.old, mutation.new))


def check_all_apply() -> list[str]:
    """Problems with the mutation list against the current source (empty when all apply)."""
    problems = []
    names = [m.name for m in MUTATIONS]
    problems += [f"duplicate name {n}" for n in sorted(set(names)) if names.count(n) > 1]
    for m in MUTATIONS:
        count = (ROOT / "kpy" / m.path).read_text().count(m.old)
        if count != 1:
            problems.append(f"{m.name}: found {count} times in kpy/{m.path}")
    return problems


def run_one(mutation: Mutation | None, workdir: Path) -> tuple[list[dict], float]:
    """Outcomes of the suite against a broker built from a (mutated) copy of kpy."""
    copy = workdir / "src"
    shutil.copytree(ROOT / "kpy", copy / "kpy", ignore=shutil.ignore_patterns("__pycache__"))
    if mutation is not None:
        apply(mutation, copy / "kpy")
    broker = BrokerProcess(workdir / "data")
    cwd = os.getcwd()
    os.chdir(copy)  # `python -m kpy` imports the package of its working directory first
    try:
        broker.start()
    finally:
        os.chdir(cwd)
    started = time.monotonic()
    out = workdir / "results.json"
    try:
        cmd = [sys.executable, "-m", "conformance", "--bootstrap", broker.bootstrap]
        cmd += ["--json", str(out), f"--timeout={CHECK_TIMEOUT_S}"]
        if mutation is not None and mutation.only:
            cmd += ["-k", mutation.only]
        subprocess.run(
            cmd,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=RUN_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired:
        pass
    finally:
        broker.kill()
    checks = json.loads(out.read_text())["checks"] if out.exists() else []
    return checks, time.monotonic() - started


def key(outcome: dict) -> str:
    return f"{outcome['area']} / {outcome['check']} [{outcome['driver']}]"


def report(baseline: list[dict], runs: dict[str, tuple[list[dict], float]]) -> str:
    everything = sorted({key(o) for o in baseline})
    failed_by: dict[str, list[str]] = {k: [] for k in everything}
    lines = [
        "# Conformance checks seen failing",
        "",
        "Generated by `python -m conformance.mutations`: each mutation breaks one behaviour in a",
        "copy of kpy's source, a broker runs from that copy, and the conformance suite runs",
        "against it. Baseline (unmutated): "
        f"{sum(o['status'] == 'PASS' for o in baseline)} of {len(baseline)} checks pass.",
        "",
        "| mutation | behaviour broken | checks failed | seconds |",
        "| --- | --- | --- | --- |",
    ]
    by_name = {m.name: m for m in MUTATIONS}
    for name, (checks, seconds) in runs.items():
        failed = sorted({key(o) for o in checks if o["status"] == "FAIL"})
        for k in failed:
            failed_by.setdefault(k, []).append(name)
        lines.append(f"| {name} | {by_name[name].what} | {len(failed)} | {seconds:.0f} |")
    never = [k for k in everything if not failed_by.get(k)]
    lines += [
        "",
        f"Checks seen failing: {len(everything) - len(never)} of {len(everything)}.",
        "",
        "## Never seen failing",
        "",
    ]
    lines += [f"- {k}" for k in never] or ["None."]
    lines += ["", "## Each check and the mutations that made it fail", ""]
    lines += ["| check | mutations |", "| --- | --- |"]
    lines += [f"| {k} | {', '.join(failed_by.get(k, [])) or '-'} |" for k in everything]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m conformance.mutations")
    parser.add_argument("--only", nargs="*", help="mutation names (default: all)")
    parser.add_argument("--out", default=str(ROOT / "conformance" / "MUTATIONS.md"))
    parser.add_argument("--json", help="also write the raw outcomes here")
    parser.add_argument("--list", action="store_true")
    args = parser.parse_args(argv)
    if args.list:
        for m in MUTATIONS:
            print(f"{m.name:40} {m.what}")
        return 0
    problems = check_all_apply()
    if problems:
        print("\n".join(problems), file=sys.stderr)
        return 2
    chosen = [m for m in MUTATIONS if not args.only or m.name in args.only]
    with tempfile.TemporaryDirectory(prefix="kpy-mutations-") as tmp:
        baseline, seconds = run_one(None, Path(tmp) / "baseline")
        print(f"baseline: {len(baseline)} checks in {seconds:.0f} s", flush=True)
        if not baseline or any(o["status"] == "FAIL" for o in baseline):
            print("the unmutated broker fails checks; fix that first", file=sys.stderr)
            return 1
        runs: dict[str, tuple[list[dict], float]] = {}
        for i, m in enumerate(chosen):
            checks, seconds = run_one(m, Path(tmp) / f"m{i}")
            runs[m.name] = (checks, seconds)
            failed = sum(o["status"] == "FAIL" for o in checks)
            print(f"{m.name}: {failed} failed of {len(checks)} in {seconds:.0f} s", flush=True)
    Path(args.out).write_text(report(baseline, runs))
    if args.json:
        Path(args.json).write_text(json.dumps({"baseline": baseline, "runs": runs}, indent=1))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
