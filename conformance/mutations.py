"""Mutation runs: evidence that every conformance check can fail.

    python -m conformance.mutations [--only NAME ...] [--out conformance/MUTATIONS.md] [--json F]

For each mutation of kpy/ (conformance/mutation_catalog/) the package is copied into a
temporary directory, the mutation's exact text replacement is applied to the copy (it must
find exactly one place, by the rule in conformance/mutation_catalog/__init__.py, so a
mutation cannot go stale unnoticed), a broker is started from the
copy and the conformance checks the mutation selects run against it with ``--bootstrap``.
The broker runs through a launcher that puts the copy first on ``sys.path`` and refuses to
start if ``kpy`` is imported from anywhere else; the launcher's line in the broker log is
checked too. A first run against an unmutated copy must pass: it lists the checks.

The report names, per mutation, the checks that failed (per driver) with the first line of
each failure, then every check with the mutations that made it fail, and the checks never
seen failing. The checks that fail against tansu (conformance/RESULTS.md) are shown beside
them as secondary evidence.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from conformance.mutation_catalog import MUTATIONS, Mutation
from conformance.mutation_catalog.base import MARKER, Unplaced, apply, hand_written, locate, markers
from conformance.plugin import AREAS
from kpy.testing import BrokerProcess

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "kpy"
RESULTS_MD = ROOT / "conformance" / "RESULTS.md"
RUN_TIMEOUT_S = 900  # one conformance process; checks time out on their own much earlier
CHECK_TIMEOUT_S = 30  # pytest-timeout per check: a consumer that never gets data waits ~30 s

# Runs kpy's CLI from the copy given as first argument, or not at all.
LAUNCHER = """\
import sys
source = sys.argv.pop(1)
sys.path.insert(0, source)
import kpy
if not kpy.__file__.startswith(source + "/"):
    sys.exit(f"kpy imported from {kpy.__file__}, not from {source}")
print(f"kpy source: {kpy.__file__}", file=sys.stderr, flush=True)
from kpy.cli import main
sys.exit(main(sys.argv[1:]))
"""


class CopyBroker(BrokerProcess):
    """A BrokerProcess whose kpy package is the copy under ``source``."""

    def __init__(self, source: Path, data_dir: Path) -> None:
        super().__init__(data_dir)
        self.source = source

    def command(self) -> list[str]:
        cmd = super().command()
        assert cmd[1:3] == ["-m", "kpy"], cmd
        return [cmd[0], "-c", LAUNCHER, str(self.source), *cmd[3:]]

    def runs_copy(self) -> bool:
        """Whether the broker log shows kpy imported from the copy."""
        return f"kpy source: {self.source}/kpy/" in self.log_path.read_text(errors="replace")


@dataclass
class Run:
    """One conformance run against a (mutated) copy."""

    name: str
    checks: list[dict] = field(default_factory=list)
    seconds: float = 0.0
    error: str = ""

    def failed(self) -> list[dict]:
        return [c for c in self.checks if c["status"] == "FAIL"]


def catalog_problems(mutations: list[Mutation] = MUTATIONS, source: Path = SOURCE) -> list[str]:
    """What is wrong with the catalogue against the current source (nothing, ideally): a
    duplicate name, a mutation that finds no place or more than one (see
    conformance/mutation_catalog/__init__.py), one that changes nothing or does not compile,
    a marker that stands twice or that no mutation uses."""
    problems = []
    names = [m.name for m in mutations]
    problems += [f"duplicate mutation name {n}" for n in sorted(set(names)) if names.count(n) > 1]
    sources = hand_written(source)
    for m in mutations:
        try:
            site, mutated = apply(m, sources)
        except Unplaced as exc:
            problems.append(f"{m.name}: {exc}")
            continue
        if m.old == m.new:
            problems.append(f"{m.name}: the new text is the old text")
        try:
            compile(mutated, str(source / site.path), "exec")
        except SyntaxError as exc:
            problems.append(f"{m.name}: the mutated kpy/{site.path} does not compile: {exc}")
    used = {m.anchor for m in mutations}
    for name, places in sorted(markers(sources).items()):
        where = ", ".join(f"kpy/{p}" for p, _ in places)
        if len(places) > 1:
            problems.append(f"the marker '{MARKER} {name}' stands {len(places)} times ({where})")
        if name not in used:
            problems.append(f"the marker '{MARKER} {name}' ({where}) is used by no mutation")
    return problems


def where(mutation: Mutation, sources: dict[str, str]) -> str:
    """``kpy/PATH:LINE`` of the mutation in ``sources`` (``hand_written``), for reports."""
    try:
        site = locate(mutation, sources)
    except Unplaced as exc:
        return f"(nowhere: {exc})"
    return f"kpy/{site.path}:{site.line}"


def make_copy(dest: Path, mutation: Mutation | None) -> Path:
    """Copy kpy/ under ``dest`` and apply ``mutation`` to the copy; returns ``dest``."""
    copy = dest / "kpy"
    shutil.copytree(SOURCE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    if mutation is not None:
        try:
            site, mutated = apply(mutation, hand_written(copy))
        except Unplaced as exc:
            raise SystemExit(f"mutation {mutation.name} no longer applies: {exc}") from exc
        (copy / site.path).write_text(mutated)
    return dest


def run_suite(name: str, mutation: Mutation | None, workdir: Path, check_timeout: int) -> Run:
    """Start a broker from a (mutated) copy of kpy and run the selected checks against it."""
    run = Run(name)
    started = time.monotonic()
    source = make_copy(workdir / "src", mutation)
    broker = CopyBroker(source, workdir / "data")
    try:
        broker.start()
    except RuntimeError as exc:
        run.error = f"the broker did not start: {exc}"
        run.seconds = time.monotonic() - started
        return run
    out = workdir / "results.json"
    try:
        if not broker.runs_copy():
            run.error = "the broker did not run from the mutated copy"
            return run
        cmd = [sys.executable, "-m", "conformance", "--bootstrap", broker.bootstrap]
        cmd += ["--json", str(out), "--name", name, "--timeout", str(check_timeout)]
        if mutation is not None and mutation.checks:
            cmd += ["-k", mutation.checks]
        with open(workdir / "conformance.log", "wb") as log:
            subprocess.run(cmd, cwd=ROOT, stdout=log, stderr=log, timeout=RUN_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        run.error = f"the conformance run took over {RUN_TIMEOUT_S} s"
    finally:
        broker.kill()
        broker.close()
        run.seconds = time.monotonic() - started
    if out.exists():
        run.checks = json.loads(out.read_text())["checks"]
    elif not run.error:
        tail = (workdir / "conformance.log").read_text(errors="replace").strip()
        run.error = "no results: " + (tail.splitlines() or ["(no output)"])[-1][:200]
    return run


def check_key(c: dict) -> tuple[str, str, str]:
    return c["area"], c["check"], c["driver"]


def sort_key(key: tuple[str, str, str]) -> tuple[int, str, str]:
    return (AREAS.index(key[0]) if key[0] in AREAS else len(AREAS), key[1], key[2])


def peer_failures(path: Path = RESULTS_MD, peer: str = "tansu") -> set[tuple[str, str, str]]:
    """Checks that fail against ``peer`` in the side-by-side matrix (empty if absent)."""
    if not path.exists():
        return set()
    columns: list[str] = []
    failing = set()
    for line in path.read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if cells[:3] == ["area", "check", "driver"]:
            columns = cells
            continue
        known = columns and len(cells) == len(columns) and peer in columns
        if known and cells[columns.index(peer)].startswith("FAIL"):
            failing.add((cells[0], cells[1], cells[2]))
    return failing


def cell(text: str, width: int = 110) -> str:
    text = " ".join(text.replace("|", "/").split())
    return text if len(text) <= width else text[: width - 3] + "..."


def report(baseline: Run, runs: list[Run], total_s: float, peer: set) -> str:
    mutations = {m.name: m for m in MUTATIONS}
    sources = hand_written(SOURCE)
    everything = sorted({check_key(c) for c in baseline.checks}, key=sort_key)
    failed_by: dict[tuple[str, str, str], list[str]] = {k: [] for k in everything}
    for run in runs:
        for c in run.failed():
            failed_by.setdefault(check_key(c), []).append(run.name)
    never = [k for k in everything if not failed_by[k]]
    idle = [r.name for r in runs if not r.failed()]
    passed = sum(c["status"] == "PASS" for c in baseline.checks)
    lines = [
        "# Every conformance check, seen failing",
        "",
        f"Generated by `python -m conformance.mutations` on {date.today().isoformat()}. Each",
        "mutation breaks one Kafka behaviour in a temporary copy of kpy/ (an exact text",
        "replacement, listed in `conformance/mutation_catalog/`; the file column says where it",
        "applied at the time of the run); a broker is started from that",
        "copy, verified to import kpy from it, and the conformance checks the mutation selects",
        "(`-k`) run against it with `--bootstrap`. The source tree is never modified.",
        "",
        f"- checks in the suite: {len(everything)}; against the unmodified source {passed} pass",
        f"- mutations: {len(runs)}; without any failing check: {len(idle)}"
        + (f" ({', '.join(idle)})" if idle else ""),
        f"- checks seen failing under at least one mutation: {len(everything) - len(never)}"
        f" of {len(everything)}",
        f"- checks never seen failing: {len(never)}",
        f"- run time: {total_s / 60:.1f} min (baseline {baseline.seconds:.0f} s)",
    ]
    if peer:
        lines.append(
            f"- secondary evidence: {len(peer & set(everything))} checks fail against tansu"
            " (conformance/RESULTS.md)"
        )
    lines += [
        "",
        "## Mutations",
        "",
        "| mutation | where | Kafka behaviour it breaks | checks run | failed | seconds |",
        "| --- | --- | --- | ---: | ---: | ---: |",
    ]
    for run in runs:
        m = mutations[run.name]
        lines.append(
            f"| [{m.name}](#{m.name}) | {where(m, sources)} | {cell(m.breaks)} | {len(run.checks)}"
            f" | {len(run.failed())} | {run.seconds:.0f} |"
        )
    lines += ["", "## Failures per mutation", ""]
    for run in runs:
        m = mutations[run.name]
        selected = f"`-k {m.checks}`" if m.checks else "every check"
        lines += [
            f"### {m.name}",
            "",
            f"{where(m, sources)}: {m.breaks}. Checks run: {selected}.",
            "",
        ]
        if run.error:
            lines += [f"Run error: {cell(run.error, 300)}", ""]
        for c in sorted(run.failed(), key=lambda c: sort_key(check_key(c))):
            lines.append(f"- {c['area']} / {c['check']} [{c['driver']}]: {cell(c['reason'])}")
        if not run.failed():
            lines.append("- (no check failed)")
        lines.append("")
    lines += [
        "## Checks and the mutations that made them fail",
        "",
        "| area | check | driver | failed under | fails against tansu |",
        "| --- | --- | --- | --- | --- |",
    ]
    for k in everything:
        names = ", ".join(failed_by[k]) or "**never**"
        lines.append(f"| {k[0]} | {k[1]} | {k[2]} | {names} | {'yes' if k in peer else ''} |")
    lines += ["", "## Never seen failing", ""]
    lines += [f"- {k[0]} / {k[1]} [{k[2]}]" for k in never] or ["None."]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m conformance.mutations")
    parser.add_argument("--only", nargs="+", metavar="NAME", help="run only these mutations")
    parser.add_argument("--out", default=str(ROOT / "conformance" / "MUTATIONS.md"))
    parser.add_argument("--json", help="also write every outcome of every run here")
    parser.add_argument("--list", action="store_true", help="list the mutations and exit")
    parser.add_argument("--timeout", type=int, default=CHECK_TIMEOUT_S, help="seconds per check")
    args = parser.parse_args(argv)
    if args.list:
        sources = hand_written(SOURCE)
        for m in MUTATIONS:
            print(f"{m.name:45} {where(m, sources)}: {m.breaks}")
        return 0
    problems = catalog_problems()
    unknown = set(args.only or ()) - {m.name for m in MUTATIONS}
    problems += [f"no mutation named {n}" for n in sorted(unknown)]
    if problems:
        print("\n".join(problems), file=sys.stderr)
        return 2
    chosen = [m for m in MUTATIONS if not args.only or m.name in args.only]
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="kpy-mutations-") as tmp:
        baseline = run_suite("baseline", None, Path(tmp) / "baseline", args.timeout)
        bad = [c for c in baseline.checks if c["status"] == "FAIL"]
        print(f"baseline: {len(baseline.checks)} checks, {len(bad)} failed", flush=True)
        if baseline.error or bad or not baseline.checks:
            print(f"the unmodified broker must pass first: {baseline.error}", file=sys.stderr)
            return 1
        runs = []
        for i, m in enumerate(chosen, 1):
            run = run_suite(m.name, m, Path(tmp) / f"m{i}", args.timeout)
            runs.append(run)
            print(
                f"[{i}/{len(chosen)}] {m.name}: {len(run.failed())} of {len(run.checks)} failed"
                f" in {run.seconds:.0f} s {run.error}",
                flush=True,
            )
    total = time.monotonic() - started
    Path(args.out).write_text(report(baseline, runs, total, peer_failures()))
    if args.json:
        data = {r.name: {"seconds": r.seconds, "error": r.error, "checks": r.checks} for r in runs}
        data["baseline"] = {"seconds": baseline.seconds, "checks": baseline.checks}
        Path(args.json).write_text(json.dumps(data, indent=1))
    print(f"wrote {args.out} in {total / 60:.1f} min")
    return 0 if all(r.failed() and not r.error for r in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
