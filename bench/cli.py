"""`python -m bench`: run the same librdkafka workloads against kpy and the peer brokers.

For every workload, runs are interleaved across brokers (kpy, kafka, kfake, tansu, kpy, ...),
each run on a freshly started broker with an empty data directory, each client workload in its
own process with a hard timeout. A broker that fails a run is reported with the reason; a broker
that cannot run at all is shown as n/a with the reason.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench import report
from bench.brokers import (
    DEFAULT_KPY_CMD,
    PEERS_VENV,
    BrokerNotReady,
    BrokerSpec,
    BrokerUnavailable,
    RunningBroker,
    ensure_client,
    ensure_peers,
    kafka_spec,
    kfake_spec,
    kpy_spec,
    peer_specs,
)
from bench.workloads import RESULT_PREFIX

BENCH_DIR = Path(__file__).resolve().parent
# kafka: Apache Kafka 4.4 on the JVM (the reference); kfake: franz-go's fake broker, built
# from bench/kfake; tansu and noida: peers from PyPI.
ALL_BROKERS = ["kpy", "kafka", "kfake", "tansu", "noida"]
# noida is left out by default: a full run with five brokers and warm-up took ~90 min.
DEFAULT_BROKERS = ["kpy", "kafka", "kfake", "tansu"]
LOCAL_PEERS = {"kafka": kafka_spec, "kfake": kfake_spec}
KIB = 1024
MIB = 1024 * 1024


@dataclass
class Workload:
    """One row of the table. `kind` says who measures: a client process ("client"), or the
    runner itself (startup times, RSS)."""

    name: str
    title: str
    unit: str
    better: str  # "higher" or "lower"
    kind: str
    params: dict = field(default_factory=dict)
    setup: tuple[str, dict] | None = None
    timeout: float = 180.0
    only: tuple[str, ...] = ()  # brokers this workload applies to; empty means all
    runs: int = 3  # per broker in a full run (--runs overrides, --quick makes it 1)


def _volume(mib: int) -> str:
    return "1 GiB" if mib == 1024 else f"{mib} MiB"


def plan(quick: bool) -> list[Workload]:
    """The workloads with their data volumes: full sizes finish `make bench` in ~10-15 minutes
    on 2 cores; --quick sizes are a smoke test."""
    mb = 64 if quick else 256  # MiB per throughput run
    big = 128 if quick else 1024  # MiB over 1,000 partitions, and before the second RSS sample
    n1k = mb * MIB // KIB
    n100 = 300_000 if quick else 1_000_000  # 100 B records to consume
    return [
        Workload(
            "produce_1k",
            f"produce 1 KiB records, acks=all ({mb} MiB)",
            "MB/s",
            "higher",
            "client",
            {"workload": "produce", "count": n1k, "size": KIB, "acks": "all"},
            setup=("topic", {"partitions": 1}),
        ),
        Workload(
            "produce_100b",
            f"produce 100 B records, acks=1 ({300 if quick else 2000}k records)",
            "msgs/s",
            "higher",
            "client",
            {
                "workload": "produce",
                "count": 300_000 if quick else 2_000_000,
                "size": 100,
                "acks": "1",
                "unit": "msgs/s",
            },
            setup=("topic", {"partitions": 1}),
        ),
        Workload(
            "produce_lz4",
            f"produce 1 KiB records, lz4, acks=all ({mb} MiB uncompressed)",
            "MB/s",
            "higher",
            "client",
            {"workload": "produce", "count": n1k, "size": KIB, "acks": "all", "compression": "lz4"},
            setup=("topic", {"partitions": 1}),
            # Bound by the client: librdkafka compresses in its one broker thread, ~490 MB/s
            # for these records on one core here. Brokers near that ceiling differ by less
            # than run-to-run noise on 2 shared cores, so 7 runs.
            runs=7,
        ),
        Workload(
            "consume_1k",
            f"consume 1 KiB records from the start ({mb} MiB)",
            "MB/s",
            "higher",
            "client",
            {"workload": "consume", "count": n1k},
            setup=("preload", {"count": n1k, "size": KIB}),
        ),
        Workload(
            "consume_100b",
            f"consume 100 B records from the start ({n100 // 1000}k records)",
            "msgs/s",
            "higher",
            "client",
            {"workload": "consume", "count": n100, "unit": "msgs/s"},
            setup=("preload", {"count": n100, "size": 100}),
        ),
        Workload(
            "consume_100b_defaults",
            f"consume 100 B records, librdkafka's default fetch pauses ({n100 // 1000}k records)",
            "msgs/s",
            "higher",
            "client",
            {"workload": "consume", "count": n100, "unit": "msgs/s", "client_defaults": True},
            setup=("preload", {"count": n100, "size": 100}),
            # With every client default, librdkafka stops fetching for fetch.queue.backoff.ms
            # (1 s) each time its queue reaches 100,000 records: the figure is how many records
            # a broker delivers before each pause, so a slower broker scores higher. 5 runs: a
            # run is ~5-7 such pauses and the one at the start swings it.
            runs=5,
        ),
        Workload(
            "latency",
            f"end-to-end latency p50 / p99, 1,000 msgs/s for {3 if quick else 10} s",
            "ms",
            "lower",
            "client",
            {"workload": "latency", "rate": 1000, "seconds": 3 if quick else 10},
        ),
        Workload(
            "produce_1000p",
            f"produce 1 KiB records over 1,000 partitions, acks=all ({_volume(big)})",
            "MB/s",
            "higher",
            "client",
            {
                "workload": "produce",
                "count": big * MIB // KIB,
                "size": KIB,
                "acks": "all",
                "partitions": 1000,
            },
            setup=("topic", {"partitions": 1000}),
            # librdkafka sends one ProduceRequest per partition here, and its start is a burst
            # of small requests that lasts up to ~0.35 s before batches settle. With 256 MiB
            # that transient was up to half of a run and every broker's runs spread over
            # ~200-460 MB/s; with 1 GiB a run lasts a few seconds.
            runs=7,
        ),
        Workload(
            "startup", "start to accepting connections, empty data dir", "ms", "lower", "startup"
        ),
        Workload(
            "startup_1000p",
            "start to accepting connections, 1,000 partitions on disk",
            "ms",
            "lower",
            "startup_1000p",
            {"partitions": 1000},
            only=("kpy",),
        ),
        Workload("rss_idle", "idle RSS", "MiB", "lower", "rss_idle"),
        Workload(
            "rss_after",
            f"RSS after writing {_volume(big)} (1 KiB records, acks=1)",
            "MiB",
            "lower",
            "rss_after",
            {"workload": "produce", "count": big * MIB // KIB, "size": KIB, "acks": "1"},
            timeout=600.0,
        ),
    ]


# --- running one measurement --------------------------------------------------------------------


def run_client(workload: str, bootstrap: str, params: dict, timeout: float) -> dict:
    """Run one client workload in a fresh process; its result dict, or a failure."""
    argv = [sys.executable, "-m", "bench.workloads", workload, "--bootstrap", bootstrap]
    argv += ["--params", json.dumps(params)]
    try:
        proc = subprocess.run(
            argv, capture_output=True, text=True, timeout=timeout, cwd=BENCH_DIR.parent
        )
    except subprocess.TimeoutExpired:
        return {"ok": False, "error": f"timed out after {timeout:.0f} s"}
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith(RESULT_PREFIX):
            return json.loads(line[len(RESULT_PREFIX) :])
    tail = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    return {"ok": False, "error": f"client exited {proc.returncode}: {tail[-1] if tail else ''}"}


def measure(w: Workload, spec: BrokerSpec, args) -> dict:
    """One run of `w` against a fresh `spec` broker."""
    broker = RunningBroker(spec)
    try:
        try:
            ready = broker.start(args.ready_timeout)
        except BrokerNotReady as exc:
            return {"ok": False, "error": f"broker did not start: {exc}"}
        if w.kind == "startup":
            return {"ok": True, "value": ready * 1000}
        if w.kind == "rss_idle":
            time.sleep(args.settle)
            return {"ok": True, "value": broker.rss_bytes() / MIB}
        if w.kind == "startup_1000p":
            made = run_client("create", broker.bootstrap, w.params, w.timeout)
            if not made.get("ok"):
                return made
            broker.stop()
            try:
                ready = broker.start(args.ready_timeout)
            except BrokerNotReady as exc:
                return {"ok": False, "error": f"restart with data: {exc}"}
            return {"ok": True, "value": ready * 1000}
        if args.warmup > 0 and w.kind == "client":
            done = run_client("warmup", broker.bootstrap, {"seconds": args.warmup}, w.timeout)
            if not done.get("ok"):
                return {"ok": False, "error": f"warm-up: {done.get('error')}"}
        if w.setup is not None:
            name, params = w.setup
            done = run_client(name, broker.bootstrap, params, w.timeout)
            if not done.get("ok"):
                return {"ok": False, "error": f"setup ({name}): {done.get('error')}"}
        params = dict(w.params)
        cpu = broker.cpu_seconds()
        result = run_client(params.pop("workload"), broker.bootstrap, params, w.timeout)
        if not broker.alive():
            return {"ok": False, "error": f"broker exited: {broker.last_log_line()}"}
        if result.get("ok") and w.kind == "client":
            # Next to the client's own figure (its timed part): on shared cores, a client far
            # busier than the broker is what bounds the result.
            extra = result.setdefault("extra", {})
            extra["broker_cpu_ms"] = (broker.cpu_seconds() - cpu) * 1000
        if result.get("ok") and w.kind == "rss_after":
            time.sleep(args.settle)
            produced = result["value"]
            rss = broker.rss_bytes() / MIB
            result = {"ok": True, "value": rss, "extra": {"produce_mb_s": produced, "rss_mib": rss}}
        return result
    finally:
        broker.cleanup()


def preflight(names: list[str], args, log) -> tuple[dict[str, BrokerSpec], dict[str, str]]:
    """Specs for the brokers that can run here, and reasons for those that cannot."""
    specs: dict[str, BrokerSpec] = {}
    unavailable: dict[str, str] = {}
    if "kpy" in names:
        try:
            spec = kpy_spec(args.kpy_cmd)
            probe = RunningBroker(spec)
            try:
                probe.start(args.ready_timeout)
                specs["kpy"] = spec
            except BrokerNotReady as exc:
                unavailable["kpy"] = f"kpy not available: {exc}"
            finally:
                probe.cleanup()
        except BrokerUnavailable as exc:
            unavailable["kpy"] = str(exc)
    for name, make in LOCAL_PEERS.items():
        if name in names:
            try:
                specs[name] = make(log)
            except BrokerUnavailable as exc:
                unavailable[name] = str(exc)
    peers = [n for n in names if n != "kpy" and n not in LOCAL_PEERS]
    if peers:
        binaries = ensure_peers(peers, Path(args.peers_venv), log=log)
        found = peer_specs(binaries)
        for name in peers:
            if name in found:
                specs[name] = found[name]
            else:
                unavailable[name] = f"{name} not available: install into {args.peers_venv} failed"
    return specs, unavailable


# --- command line -------------------------------------------------------------------------------


def parse_args(argv):
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    p.add_argument(
        "--runs",
        type=int,
        help="runs per broker and workload (default: each workload's own, see --list; quick 1)",
    )
    p.add_argument("--quick", action="store_true", help="small volumes, 1 run: a smoke test")
    p.add_argument("--only", help="comma-separated workload names (see --list)")
    p.add_argument(
        "--brokers",
        default=",".join(DEFAULT_BROKERS),
        help=f"default: %(default)s (of {', '.join(ALL_BROKERS)})",
    )
    p.add_argument("--list", action="store_true", help="list the workloads and exit")
    p.add_argument(
        "--kpy-cmd",
        default=os.environ.get("KPY_BENCH_CMD", DEFAULT_KPY_CMD),
        help="kpy command template with {port}, {data_dir} and {bin} (this venv's bin/)",
    )
    p.add_argument("--peers-venv", default=str(PEERS_VENV))
    p.add_argument("--ready-timeout", type=float, default=30.0)
    p.add_argument("--settle", type=float, default=2.0, help="seconds before an RSS sample")
    p.add_argument(
        "--warmup",
        type=float,
        default=10.0,
        help="seconds of untimed produce and fetch before each client workload, for every broker,"
        " so that a JVM's JIT has compiled Kafka's paths (default %(default)s; 0: every broker"
        " runs cold)",
    )
    p.add_argument("--json", default=None, help="default bench/results.json")
    p.add_argument("--markdown", default=None, help="default bench/results.md")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    workloads = plan(args.quick)

    def runs_of(w: Workload) -> int:
        return args.runs or (1 if args.quick else w.runs)

    if args.list:
        for w in workloads:
            print(f"{w.name:15} {runs_of(w):2} runs  {w.title}")
        return 0
    if args.only:
        wanted = set(args.only.split(","))
        unknown = wanted - {w.name for w in workloads}
        if unknown:
            print(f"bench: unknown workload(s): {', '.join(sorted(unknown))}", file=sys.stderr)
            return 2
        workloads = [w for w in workloads if w.name in wanted]
    brokers = [b.strip() for b in args.brokers.split(",") if b.strip()]
    bad = [b for b in brokers if b not in ALL_BROKERS]
    if bad:
        print(f"bench: unknown broker(s): {', '.join(bad)}", file=sys.stderr)
        return 2

    def log(msg: str) -> None:
        print(msg, flush=True)

    ensure_client()
    specs, unavailable = preflight(brokers, args, log)
    for reason in unavailable.values():
        log(f"bench: {reason}")

    started = time.monotonic()
    load_start = report.load_average()
    results: dict[str, dict[str, list[dict]]] = {}
    total = sum(
        runs_of(w) * len([b for b in specs if not w.only or b in w.only]) for w in workloads
    )
    step = 0
    for w in workloads:
        targets = [b for b in brokers if b in specs and (not w.only or b in w.only)]
        for run in range(runs_of(w)):
            for b in targets:  # interleaved: a b c a b c ...
                step += 1
                r = measure(w, specs[b], args)
                results.setdefault(w.name, {}).setdefault(b, []).append(r)
                shown = f"{r['value']:.3f} {w.unit}" if r.get("ok") else f"FAILED: {r['error']}"
                log(f"[{step}/{total}] {w.name} {b} run {run + 1}: {shown}")

    summaries = {
        w.name: {b: report.summarize(rs) for b, rs in results.get(w.name, {}).items()}
        for w in workloads
    }
    header, rows, notes = report.build_rows(summaries, workloads, brokers, unavailable)
    cpu = report.cpu_rows(summaries, workloads, brokers)
    info = {
        "machine": report.machine(),
        "versions": {b: s.version for b, s in specs.items()},
        "load_start": load_start,
        "load_end": report.load_average(),
    }
    config = {
        "runs": {w.name: runs_of(w) for w in workloads},
        "quick": args.quick,
        "brokers": brokers,
        "warmup_s": args.warmup,
    }
    elapsed = time.monotonic() - started
    print()
    print(report.text_table(header, rows))
    for i, note in enumerate(notes, start=1):
        print(f"[{i}] {note}")
    if cpu[1]:
        print()
        print(report.text_table(*cpu))
    print(f"\nbench: {elapsed:.0f} s")

    suffix = "-quick" if args.quick else ""
    json_path = Path(args.json or BENCH_DIR / f"results{suffix}.json")
    report.write_json(
        json_path,
        {
            "info": info,
            "config": config,
            "seconds": elapsed,
            "workloads": {w.name: {"title": w.title, "unit": w.unit} for w in workloads},
            "summaries": summaries,
            "runs": results,
            "unavailable": unavailable,
        },
    )
    table_md = report.markdown(header, rows, notes, info, config, cpu)
    md_path = Path(args.markdown or BENCH_DIR / f"results{suffix}.md")
    md_path.write_text(table_md)
    print(f"bench: wrote {json_path} and {md_path}")
    # The README shows only complete runs with real kpy figures.
    complete = not args.quick and not args.only and "kpy" in specs
    if complete and report.update_readme(BENCH_DIR.parent / "README.md", table_md):
        print("bench: updated the table in README.md")
    return 0
