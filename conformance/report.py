"""The compatibility matrix: one row per check, one column per driver; Markdown and JSON."""

from __future__ import annotations

import json
import platform
from collections import defaultdict
from importlib import metadata

from conformance.plugin import AREAS, Outcome

COLUMNS = ["raw", "confluent-kafka", "kafka-python", "aiokafka", "kcat"]


def client_versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for dist in ("kafka-python", "confluent-kafka", "aiokafka", "kpy-broker"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = "not installed"
    try:
        import confluent_kafka

        out["librdkafka"] = confluent_kafka.libversion()[0]
    except ImportError:
        pass
    return out


def cell(o: Outcome | None) -> str:
    if o is None:
        return ""
    if o.status in ("PASS",):
        return "PASS"
    text = o.reason.replace("|", "/").replace("\n", " ")[:80]
    return f"{o.status} ({text})" if text else o.status


def to_markdown(
    outcomes: list[Outcome], broker: str, api_versions: list[tuple[int, str, int, int]]
) -> str:
    rows: dict[tuple[str, str], dict[str, Outcome]] = defaultdict(dict)
    docs: dict[tuple[str, str], str] = {}
    for o in outcomes:
        rows[(o.area, o.check)][o.driver] = o
        docs[(o.area, o.check)] = o.doc
    lines = [f"# Conformance report: {broker}", ""]
    totals = summarize(outcomes)
    lines += ["| area | pass | fail | skip | xfail |", "| --- | ---: | ---: | ---: | ---: |"]
    for area in sorted(totals, key=lambda a: AREAS.index(a) if a in AREAS else 99):
        t = totals[area]
        lines.append(f"| {area} | {t['PASS']} | {t['FAIL']} | {t['SKIP']} | {t['XFAIL']} |")
    all_t = {k: sum(t[k] for t in totals.values()) for k in ("PASS", "FAIL", "SKIP", "XFAIL")}
    lines.append(
        f"| **total** | {all_t['PASS']} | {all_t['FAIL']} | {all_t['SKIP']} | {all_t['XFAIL']} |"
    )
    lines += [
        "",
        "| area | check | " + " | ".join(COLUMNS) + " | Kafka behaviour |",
        "| --- | --- | " + " | ".join("---" for _ in COLUMNS) + " | --- |",
    ]
    for (area, check), by_driver in sorted(
        rows.items(), key=lambda kv: (AREAS.index(kv[0][0]) if kv[0][0] in AREAS else 99, kv[0][1])
    ):
        cells = " | ".join(cell(by_driver.get(c)) for c in COLUMNS)
        lines.append(f"| {area} | {check} | {cells} | {docs[(area, check)]} |")
    xfails = [o for o in outcomes if o.status == "XFAIL"]
    if xfails:
        lines += ["", "## Expected failures (not implemented yet)", ""]
        lines += [f"- {o.area} / {o.check} ({o.driver}): {o.reason}" for o in xfails]
    lines += [
        "",
        "## Broker ApiVersions",
        "",
        "| key | API | min | max |",
        "| ---: | --- | ---: | ---: |",
    ]
    lines += [f"| {k} | {n} | {lo} | {hi} |" for k, n, lo, hi in api_versions]
    lines += ["", "## Clients", ""]
    lines += [f"- {k}: {v}" for k, v in client_versions().items()]
    return "\n".join(lines) + "\n"


def summarize(outcomes: list[Outcome]) -> dict[str, dict[str, int]]:
    totals: dict[str, dict[str, int]] = defaultdict(
        lambda: {"PASS": 0, "FAIL": 0, "SKIP": 0, "XFAIL": 0}
    )
    for o in outcomes:
        totals[o.area][o.status] += 1
    return totals


def to_json(outcomes: list[Outcome], broker: str, api_versions) -> str:
    return json.dumps(
        {
            "broker": broker,
            "clients": client_versions(),
            "api_versions": [
                {"key": k, "name": n, "min": lo, "max": hi} for k, n, lo, hi in api_versions
            ],
            "totals": summarize(outcomes),
            "checks": [o.__dict__ for o in outcomes],
        },
        indent=1,
    )
