"""Comparing two brokers' answers: what the differential harness (differential.py) checks.

- Binding: one broker's values in one sequence (its topic ids, member ids, producer ids), so
  that ids playing the same part compare equal.
- normalise(): an answer as plain data, with what legitimately differs replaced: cluster id,
  ids, node ids, hosts and ports, clock timestamps, throttle times, error messages' wording,
  other sequences' entries in listings and orders Kafka does not define.
- diff(): field by field, list entries paired by name; each divergence is then looked up in
  the allow-list (differential_allow.toml: Allow, load_allow) and filed in the Report.
"""

from __future__ import annotations

import json
import re
import time
import tomllib
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from conformance import differential_gen as gen
from kpy.protocol import api_keys, records
from kpy.protocol.error_codes import ErrorCode
from kpy.protocol.primitives import Struct

ALLOW_FILE = Path(__file__).with_name("differential_allow.toml")

MEMBER_FIELDS = {"member_id", "leader", "assigned_member_id"}
PID_FIELDS = {"producer_id", "producer_id_filters", "v3_and_below_producer_id"}
NODE_FIELDS = {
    "node_id",
    "leader_id",
    "controller_id",
    "broker_id",
    "replica_nodes",
    "isr_nodes",
    "offline_replicas",
    "eligible_leader_replicas",
    "last_known_elr",
    "coordinator_id",
}
TEXT_FIELDS = {"error_message", "documentation"}
NAME_FIELDS = ("name", "topic", "topic_name", "group_id", "transactional_id")
ENTRY_KEYS = NAME_FIELDS + (
    "resource_name",
    "topic_id",
    "partition_index",
    "index",
    "api_key",
    "member_id",
    "key",
)
SORT_KEYS = NAME_FIELDS + ("partition_index", "index", "partition", "node_id", "error_code")
# Lists whose order Kafka leaves to hash maps, and listings that show every sequence's entries.
UNORDERED = {
    ("Produce", "responses"),
    ("CreateTopics", "topics"),
    ("CreatePartitions", "results"),
    ("DeleteTopics", "responses"),  # shuffled on purpose by Kafka's controller
    ("Metadata", "topics"),
    ("Metadata", "brokers"),
    ("ListGroups", "groups"),
    ("DescribeGroups", "groups"),
    ("ConsumerGroupDescribe", "groups"),
    ("DeleteGroups", "results"),
    ("ListTransactions", "transaction_states"),
    ("DescribeLogDirs", "results[].topics"),
    ("ElectLeaders", "replica_election_results"),
    ("ListOffsets", "topics"),
    ("DeleteRecords", "topics"),
    ("DeleteRecords", "topics[].partitions"),
    ("ListOffsets", "topics[].partitions"),
    # a transaction's partitions: a set, listed in Kafka's hash-set order
    ("DescribeTransactions", "transaction_states[].topics"),
    ("DescribeTransactions", "transaction_states[].topics[].partitions"),
}
# OffsetFetch lists what was committed to a group: the group '' is every sequence's.
LISTINGS = UNORDERED | {
    ("DescribeTopicPartitions", "topics"),
    ("OffsetFetch", "topics"),
    ("OffsetFetch", "groups[].topics"),
}


# ---- binding -------------------------------------------------------------------------------


class Binding:
    """One broker's values in one sequence.

    ``sent`` maps a value as a step holds it (a placeholder such as ``@m0``, or an id seen at
    capture time) to what this broker is sent; ``labels`` maps what this broker answered to
    the label compared, so two brokers' different ids compare equal when they play one part.
    """

    def __init__(self, seq: gen.Sequence, node_id: int, clock_floor: int) -> None:
        self.sent: dict[Any, Any] = {}
        self.labels: dict[Any, str] = {real: ph for ph, real in seq.names.items()}
        self.renamed = {real: ph for ph, real in seq.names.items() if ph.startswith("conf-")}
        self.counts: Counter[str] = Counter()
        self.node_id = node_id
        self.clock_floor = clock_floor

    def bind(self, placeholder: Any, actual: Any, label: str) -> None:
        self.sent[placeholder] = actual
        self.labels.setdefault(actual, label)

    def label(self, kind: str, value: Any) -> str:
        if value not in self.labels:
            self.labels[value] = f"<{kind}#{self.counts[kind]}>"
            self.counts[kind] += 1
        return self.labels[value]

    def text(self, value: str) -> str:
        """A string as compared: our names become their placeholders."""
        if value in self.labels:
            return self.labels[value]
        if self.renamed and "conf-" in value:
            for real, orig in self.renamed.items():
                value = value.replace(real, orig)
        return value

    def ours(self, value: Any) -> bool:
        """Whether a listing's entry belongs in this sequence's comparison: its own names and
        internal topics, not other sequences' (or other users') entries."""
        return not isinstance(value, str) or value.startswith("__") or self.text(value) != value


def _fields(obj: Any) -> Any:
    return type(obj).FIELDS


# ---- normalise and compare -----------------------------------------------------------------


def normalise(obj: Any, version: int, api: str, b: Binding, path: str = "") -> Any:
    """An answer as plain data, with what may legitimately differ replaced by labels."""
    out: dict[str, Any] = {}
    flexible = api_keys.API_KEYS[type(obj).API_KEY].is_flexible(version) if path == "" else True
    for attr, ftype, versions, _nullable, tag, tagged, struct_name in _fields(obj):
        if tag is not None:
            if not (flexible and tagged[0] <= version <= tagged[1]):
                continue
        elif not versions[0] <= version <= versions[1]:
            continue
        value = getattr(obj, attr)
        here = f"{path}.{attr}" if path else attr
        if isinstance(value, list):
            if (api, here) in LISTINGS:
                value = [v for v in value if all(b.ours(getattr(v, f, None)) for f in NAME_FIELDS)]
            if (api, here) in UNORDERED:
                # Sorted before labelling, so that ids are labelled in the same order.
                value = sorted(value, key=lambda v: _identity(v, b))
            if struct_name is not None:
                items = [normalise(v, version, api, b, here + "[]") for v in value]
                if (api, here) in LISTINGS:
                    items = [_internal(item) for item in items]
            else:
                items = [_leaf(attr, ftype[2:], v, b) for v in value]
            out[attr] = items
        elif struct_name is not None:
            out[attr] = None if value is None else normalise(value, version, api, b, here)
        else:
            out[attr] = _leaf(attr, ftype, value, b)
    if getattr(obj, "unknown_tagged_fields", None):
        out["unknown_tagged_fields"] = [(t, bytes(v).hex()) for t, v in obj.unknown_tagged_fields]
    return out


def _internal(item: dict[str, Any]) -> dict[str, Any]:
    """An internal topic's sizes depend on every group and transaction of the run so far."""
    if str(item.get("name") or item.get("topic") or "").startswith("__"):
        for part in item.get("partitions") or []:
            if isinstance(part, dict) and "partition_size" in part:
                part["partition_size"] = "<internal>"
    return item


def _identity(value: Any, b: Binding) -> str:
    """What identifies an entry of an unordered list, before any labels are given."""
    if not isinstance(value, Struct):
        return json.dumps(value, default=str)
    keys = [getattr(value, f) for f in SORT_KEYS if hasattr(value, f)]
    return json.dumps([b.text(k) if isinstance(k, str) else k for k in keys], default=str)


def _leaf(attr: str, ftype: str, value: Any, b: Binding) -> Any:
    if value is None:
        return None
    if attr == "throttle_time_ms":
        return 0
    if attr in TEXT_FIELDS:
        return None
    if attr in ("host", "client_host", "log_dir"):
        return f"<{attr}>"
    if attr in ("port", "total_bytes", "usable_bytes"):
        return f"<{attr}>" if value >= 0 else value
    if attr == "cluster_id":
        return "<cluster>" if value else value
    if ftype == "uuid":
        return "0" if value == gen.ZERO_ID else b.labels.get(value) or b.label("uuid", value)
    if ftype == "string":
        if attr in MEMBER_FIELDS and value and value not in b.labels:
            return b.label("member", value)
        return b.text(value)
    if ftype == "records":
        return describe_records(bytes(value), b)
    if ftype in ("bytes",):
        return bytes(value).hex()
    if isinstance(value, int) and not isinstance(value, bool):
        if attr in PID_FIELDS and value >= 0:
            return b.labels.get(value) or b.label("pid", value)
        if attr == "session_id" and value != 0:
            return b.label("session", value)
        if attr in NODE_FIELDS and value == b.node_id:
            return "<node>"
        if ftype == "int64" and b.clock_floor <= value <= time.time() * 1000 + 3_600_000:
            return "<clock>"
    return value


def describe_records(data: bytes, b: Binding) -> list[Any]:
    """Record batches by header (payload hashed), so that clock-stamped ones compare equal."""
    out: list[Any] = []
    end = 0
    for pos, h in records.iter_batches(data):
        # Stamped by the broker: LogAppendTime batches and transaction markers.
        base_ts, max_ts = (_leaf("", "int64", t, b) for t in (h.base_timestamp, h.max_timestamp))
        append_time = h.is_log_append_time or "<clock>" in (base_ts, max_ts)
        out.append(
            {
                "base_offset": h.base_offset,
                "partition_leader_epoch": h.partition_leader_epoch,
                "magic": h.magic,
                "crc": "<crc>" if append_time else h.crc,
                "attributes": h.attributes,
                "last_offset_delta": h.last_offset_delta,
                "base_timestamp": base_ts,
                "max_timestamp": "<clock>" if h.is_log_append_time else max_ts,
                "producer_id": _leaf("producer_id", "int64", h.producer_id, b),
                "producer_epoch": h.producer_epoch,
                "base_sequence": h.base_sequence,
                "record_count": h.record_count,
                "payload": bytes(data[pos + records.BATCH_OVERHEAD : pos + h.size]).hex()[:24],
            }
        )
        end = pos + h.size
    if end < len(data):
        out.append("<partial batch>")
    return out


@dataclass
class Divergence:
    sequence: str
    step: int
    api: str
    version: int
    setup: bool
    path: str
    kafka: Any
    kpy: Any
    request: str
    allowed_by: int | None = None

    @property
    def pattern(self) -> str:
        return re.sub(r"\[[^\]]*\]", "[]", self.path)


def diff(kafka: Any, kpy: Any, path: str = "") -> list[tuple[str, Any, Any]]:
    """(path, Kafka's value, kpy's value) for each difference; list entries are paired by
    their name (or index) when both lists have one, else by position."""
    if isinstance(kafka, dict) and isinstance(kpy, dict):
        out = []
        for key in list(kafka) + [k for k in kpy if k not in kafka]:
            out += diff(kafka.get(key, "<absent>"), kpy.get(key, "<absent>"), _join(path, key))
        return out
    if isinstance(kafka, list) and isinstance(kpy, list):
        keyed = _keyed(kafka, kpy)
        if keyed is not None:
            k_items, p_items, name = keyed
            out = []
            for key in list(k_items) + [k for k in p_items if k not in k_items]:
                here = f"{path}[{name}={key}]"
                out += diff(k_items.get(key, "<absent>"), p_items.get(key, "<absent>"), here)
            return out
        if len(kafka) == len(kpy):
            out = []
            for i, (k, p) in enumerate(zip(kafka, kpy)):
                out += diff(k, p, f"{path}[{i}]")
            return out
    return [] if kafka == kpy else [(path, kafka, kpy)]


def _keyed(kafka: list[Any], kpy: list[Any]) -> tuple[dict, dict, str] | None:
    """Both lists' entries by the first field that names each entry once in both lists."""
    for name in ENTRY_KEYS:
        k_items = _by(kafka, name)
        p_items = _by(kpy, name)
        if k_items is not None and p_items is not None:
            return k_items, p_items, name
    return None


def _by(items: list[Any], name: str) -> dict[str, Any] | None:
    if not all(isinstance(x, dict) and name in x for x in items):
        return None
    keyed = {json.dumps(x[name], default=str): x for x in items}
    return keyed if len(keyed) == len(items) else None


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


# ---- allow-list ----------------------------------------------------------------------------


@dataclass
class Allow:
    """A known divergence and why it is allowed: ``kept`` on purpose (or not kpy's to change:
    the two brokers' own settings, timing), or ``todo``, a kpy difference not fixed yet."""

    api: str
    reason: str
    status: str = "todo"
    path: str = "*"
    where: str = "*"  # a glob over the full path, entry names included: results[resource_name="1"]*
    versions: str = ""
    sequence: str = "*"
    kafka: Any = None
    kpy: Any = None
    used: int = 0

    def matches(self, d: Divergence) -> bool:
        if self.api not in ("*", d.api) or not _glob(self.path, d.pattern):
            return False
        if not _glob(self.where, d.path):
            return False
        if self.versions:
            lo, _, hi = self.versions.partition("-")
            if not int(lo) <= d.version <= int(hi or lo):
                return False
        if not _glob(self.sequence, d.sequence):
            return False
        return all(
            want is None or want == got or str(want) == str(got)
            for want, got in ((self.kafka, d.kafka), (self.kpy, d.kpy))
        )


def _glob(pattern: str, text: str) -> bool:
    """``*`` matches anything; every other character, brackets included, only itself."""
    return re.fullmatch(".*".join(map(re.escape, pattern.split("*"))), text) is not None


def load_allow(path: Path = ALLOW_FILE) -> list[Allow]:
    if not path.exists():
        return []
    entries = tomllib.loads(path.read_text()).get("allow", [])
    return [Allow(**e) for e in entries]


# ---- report --------------------------------------------------------------------------------


@dataclass
class Report:
    allow: list[Allow]
    requests: Counter[tuple[str, int]] = field(default_factory=Counter)
    sequences: Counter[str] = field(default_factory=Counter)
    seconds_by: Counter[str] = field(default_factory=Counter)  # by API (or "check:...")
    kinds: Counter[str] = field(default_factory=Counter)  # requests: setup, generated, captured
    divergences: list[Divergence] = field(default_factory=list)
    shared: dict[str, tuple[int, int]] = field(default_factory=dict)
    only_kafka: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def add(self, d: Divergence) -> None:
        for i, rule in enumerate(self.allow):
            if rule.matches(d):
                rule.used += 1
                d.allowed_by = i
                break
        self.divergences.append(d)

    @property
    def unexplained(self) -> list[Divergence]:
        return [d for d in self.divergences if d.allowed_by is None]

    def summary(self) -> str:
        allowed = len(self.divergences) - len(self.unexplained)
        todo = sum(
            1
            for d in self.divergences
            if d.allowed_by is not None and self.allow[d.allowed_by].status == "todo"
        )
        generated = self.kinds["generated"]
        return (
            f"differential: {sum(self.requests.values())} requests compared "
            f"({self.sequences['generated']} generated and {self.sequences['captured']} captured "
            f"sequences, {len(self.requests)} API versions of {len(self.shared)} APIs) in "
            f"{self.seconds:.0f} s, {generated} of the requests drawn by hypothesis; "
            f"{len(self.divergences)} divergences: {allowed - todo} allowed as kept, {todo} "
            f"allowed as todo, {len(self.unexplained)} unexplained"
        )

    def to_markdown(self) -> str:
        lines = ["# Differential run: Apache Kafka vs kpy", "", self.summary(), ""]
        lines += ["## APIs compared", "", "| API | versions | requests |", "| --- | --- | ---: |"]
        for api, (lo, hi) in sorted(self.shared.items()):
            n = sum(c for (a, _v), c in self.requests.items() if a == api)
            lines.append(f"| {api} | {lo}-{hi} | {n} |")
        if self.only_kafka:
            lines += ["", "Advertised by Kafka only: " + ", ".join(self.only_kafka) + "."]
        lines += ["", "## Unexplained divergences", ""]
        lines += grouped(self.unexplained) or ["None."]
        lines += ["", "## Allowed divergences", ""]
        lines += ["| rule | status | api | path | count | reason |"]
        lines += ["| ---: | --- | --- | --- | ---: | --- |"]
        for i, rule in enumerate(self.allow):
            lines.append(
                f"| {i} | {rule.status} | {rule.api} | `{rule.path}` | {rule.used} | {rule.reason} |"
            )
        return "\n".join(lines) + "\n"

    def to_json(self) -> str:
        return json.dumps(
            {
                "summary": self.summary(),
                "requests": {f"{a} v{v}": n for (a, v), n in sorted(self.requests.items())},
                "seconds_by": dict(self.seconds_by.most_common()),
                "divergences": [d.__dict__ for d in self.divergences],
                "allow_used": {i: r.used for i, r in enumerate(self.allow)},
            },
            indent=1,
            default=str,
        )


def grouped(divs: list[Divergence]) -> list[str]:
    """One entry per API, field and pair of values, with the versions and an example."""
    groups: dict[tuple[str, str, str, str], list[Divergence]] = defaultdict(list)
    for d in divs:
        groups[(d.api, d.pattern, _short(d.kafka), _short(d.kpy))].append(d)
    lines = []
    for (api, path, k, p), ds in sorted(groups.items(), key=lambda kv: -len(kv[1])):
        versions = sorted({d.version for d in ds})
        ex = ds[0]
        lines += [
            f"- **{api}** v{','.join(map(str, versions))} `{path or '<outcome>'}`: "
            f"Kafka {k}, kpy {p} ({len(ds)}x)",
            f"  - e.g. {ex.sequence} step {ex.step}{' (setup)' if ex.setup else ''}: "
            f"`{ex.request[:600]}`",
        ]
    return lines


def _short(value: Any) -> str:
    if isinstance(value, int) and not isinstance(value, bool) and -1 <= value < 130:
        try:
            return f"{value} ({ErrorCode(value).name})" if value else "0"
        except ValueError:
            return str(value)
    text = json.dumps(value, default=str)
    return text if len(text) <= 200 else text[:200] + "..."
