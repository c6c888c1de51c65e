"""Summaries of a bench run: the machine it ran on, medians per broker, kpy/peer ratios, and the
same table as terminal text, markdown and JSON."""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import statistics
from pathlib import Path

README_BEGIN = "<!-- bench:begin -->"
README_END = "<!-- bench:end -->"


def load_average() -> float:
    """The 1-minute load average: benchmarks on a shared machine should say how shared it was."""
    try:
        return float(Path("/proc/loadavg").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return -1.0


def machine() -> dict:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    ram_gib = 0.0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                ram_gib = int(line.split()[1]) / 1024 / 1024
                break
    except OSError:
        pass
    return {
        "cpu": cpu or platform.processor() or "unknown",
        "cores": os.cpu_count(),
        "ram_gib": round(ram_gib, 1),
        "python": platform.python_version(),
        "kernel": platform.release(),
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }


def summarize(runs: list[dict]) -> dict:
    """Median of the successful runs; `failed` counts the others, `reason` names the first."""
    values = [r["value"] for r in runs if r.get("ok")]
    failures = [r for r in runs if not r.get("ok")]
    out: dict = {"runs": len(runs), "failed": len(failures)}
    if values:
        out["median"] = statistics.median(values)
    if failures:
        out["reason"] = failures[0].get("error", "").splitlines()[0] if failures else ""
    # Secondary figures (e.g. p50 next to p99) get medians of their own.
    extras: dict[str, list[float]] = {}
    for r in runs:
        if r.get("ok"):
            for key, val in (r.get("extra") or {}).items():
                if key.endswith("_ms") or key.endswith("_mib"):
                    extras.setdefault(key, []).append(val)
    if extras:
        out["extra_medians"] = {k: statistics.median(v) for k, v in extras.items()}
    return out


def _fmt(value: float) -> str:
    if value >= 10_000:
        return f"{value:,.0f}"
    if value >= 100:
        return f"{value:.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def build_rows(results: dict, workloads: list, brokers: list[str], unavailable: dict) -> tuple:
    """Rows of cells for each workload, plus footnotes naming failure reasons."""
    peers = [b for b in brokers if b != "kpy"]
    header = ["workload", "unit", *brokers, *[f"kpy/{p}" for p in peers]]
    rows, notes = [], []
    for w in workloads:
        per = results.get(w.name, {})
        cells = [w.title, f"{w.unit} ({'higher' if w.better == 'higher' else 'lower'} is better)"]
        medians = {}
        for b in brokers:
            s = per.get(b)
            if b in unavailable or (w.only and b not in w.only):
                cells.append("n/a")
            elif s is None:
                cells.append("-")
            elif "median" not in s:
                notes.append(f"{b}, {w.title}: {s.get('reason', '')}")
                cells.append(f"FAILED [{len(notes)}]")
            else:
                medians[b] = s["median"]
                text = _fmt(s["median"])
                if "p50_ms" in s.get("extra_medians", {}):
                    text = f"{_fmt(s['extra_medians']['p50_ms'])} / {text}"
                if s["failed"]:
                    notes.append(f"{b}, {w.title}: {s['failed']} of {s['runs']} runs failed: ")
                    notes[-1] += s.get("reason", "")
                    text += f" [{len(notes)}]"
                cells.append(text)
        for p in peers:
            if "kpy" in medians and medians.get(p):
                ratio = medians["kpy"] / medians[p]
                cells.append(f"{ratio:.2f}x" if ratio >= 0.1 else f"{ratio:.3f}x")
            else:
                cells.append("-")
        rows.append(cells)
    for b, reason in unavailable.items():
        notes.append(f"{b}: {reason}")
    return header, rows, notes


def cpu_rows(results: dict, workloads: list, brokers: list[str]) -> tuple:
    """CPU time per run (medians) of the broker and of the client, for the client workloads:
    on shared cores, a client far busier than the broker is what bounds a figure."""
    header = ["CPU per run, broker / client (ms)", *brokers]
    rows = []
    for w in workloads:
        cells, seen = [w.title], False
        for b in brokers:
            extra = results.get(w.name, {}).get(b, {}).get("extra_medians", {})
            if "broker_cpu_ms" in extra and "client_cpu_ms" in extra:
                cells.append(f"{extra['broker_cpu_ms']:.0f} / {extra['client_cpu_ms']:.0f}")
                seen = True
            else:
                cells.append("-")
        if seen:
            rows.append(cells)
    return header, rows


def _md_table(header, rows) -> list[str]:
    return [
        "| " + " | ".join(header) + " |",
        "|" + "|".join(" --- " for _ in header) + "|",
        *("| " + " | ".join(r) + " |" for r in rows),
    ]


def markdown(header, rows, notes, info: dict, config: dict, cpu: tuple | None = None) -> str:
    lines = _md_table(header, rows)
    if notes:
        lines.append("")
        lines.extend(f"- [{i}] {n}" for i, n in enumerate(notes, start=1))
    if cpu and cpu[1]:
        lines += ["", *_md_table(*cpu)]
    m = info["machine"]
    lines += [
        "",
        f"Machine: {m['cpu']}, {m['cores']} cores, {m['ram_gib']} GiB RAM, Linux {m['kernel']}, "
        f"Python {m['python']}; {m['date']}{_load_text(info)}.",
        "Brokers: "
        + ", ".join(info.get("versions", {}).values())
        + f". Medians of {_runs_text(config['runs'])}"
        + (" (--quick sizes)" if config.get("quick") else "")
        + (
            f", each client workload after {config['warmup_s']:g} s of untimed warm-up."
            if config.get("warmup_s")
            else "."
        ),
        "Latency cells are p50 / p99. Ratios are kpy/peer medians: above 1 is better for kpy when"
        " higher is better, below 1 when lower is better.",
        "CPU is user + system time: the broker's process tree while the client process ran (its"
        " topic made beforehand) / the client process (Python loop and librdkafka's threads) in"
        " its timed part. Both share the cores: where the client is much the busier, the client"
        " bounds the figure.",
    ]
    return "\n".join(lines) + "\n"


def _runs_text(runs: dict[str, int]) -> str:
    """'3 interleaved run(s) each (11 for produce_1000p)' from the runs per workload."""
    counts = list(runs.values())
    usual = max(set(counts), key=counts.count) if counts else 0
    text = f"{usual} interleaved run(s) each"
    others = [f"{n} for {name}" for name, n in runs.items() if n != usual]
    return text + (f" ({', '.join(others)})" if others else "")


def _load_text(info: dict) -> str:
    start, end = info.get("load_start", -1), info.get("load_end", -1)
    if start < 0 or end < 0:
        return ""
    return f"; 1-min load average {start:.1f} at start, {end:.1f} at end (2 cores)"


def text_table(header, rows) -> str:
    widths = [max(len(str(c)) for c in col) for col in zip(header, *rows)]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    out = [fmt.format(*header), fmt.format(*("-" * w for w in widths))]
    out += [fmt.format(*r) for r in rows]
    return "\n".join(out)


def write_json(path: Path, payload: dict) -> None:
    path.write_text(json.dumps(payload, indent=2, sort_keys=True) + "\n")


def update_readme(readme: Path, table_md: str) -> bool:
    """Replace the text between the bench markers in README.md; False when there are none."""
    if not readme.exists():
        return False
    text = readme.read_text()
    if README_BEGIN not in text or README_END not in text:
        return False
    head, rest = text.split(README_BEGIN, 1)
    _old, tail = rest.split(README_END, 1)
    readme.write_text(f"{head}{README_BEGIN}\n{table_md}{README_END}{tail}")
    return True
