"""Differential testing: the same requests to Apache Kafka and to kpy, the answers compared.

    python -m conformance.differential [--kafka HOST:PORT] [--kpy HOST:PORT] [--examples N]
        [--seed N] [--api NAME ...] [--no-checks] [-k FILTER] [--report FILE.md] [--json FILE]

Without --kafka or --kpy a fresh ApacheKafkaProcess or kpy BrokerProcess is started. Sequences
come from two sources (differential_gen.py): requests the conformance checks send, recorded by
conformance/wire.py against a throwaway kpy and replayed, and requests hypothesis draws from the
schemas for every API and version both brokers advertise. Each sequence uses names of its own,
so both brokers start it in the same state. The parts:

- Binding: one broker's ids for a sequence (topic ids, member ids, producer ids differ between
  brokers); requests are bound before they are sent, answers labelled before they are compared.
- Side: runs a sequence's steps against one broker, waiting where Kafka applies metadata
  asynchronously (created, grown or deleted topics, committed transactions) before going on.
- normalise(): an answer as plain data, with what legitimately differs replaced: cluster id,
  ids, node ids, hosts and ports, clock timestamps, throttle times, error messages' wording,
  other sequences' entries in listings and orders Kafka does not define.
- diff(): field by field; each divergence is checked against differential_allow.toml.
- Report: requests compared per API and version, divergences allowed (with their reason) and
  unexplained (with the request that caused them).
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
import tomllib
import uuid
from collections import Counter, defaultdict, deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from conformance import differential_gen as gen
from conformance.wire import ConnectionClosed, WireClient
from kpy.protocol import api_keys, framing, records
from kpy.protocol.error_codes import ErrorCode
from kpy.protocol.primitives import EncodeError, ProtocolError, Struct

ROOT = Path(__file__).resolve().parents[1]
ALLOW_FILE = Path(__file__).with_name("differential_allow.toml")
CLIENT_ID = "kpy-differential"
# kpy started by the harness matches Kafka's defaults where an answer shows them.
KPY_OVERRIDES = {"offsets.topic.num.partitions": 50, "transaction.state.log.num.partitions": 50}

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
    ("Metadata", "topics"),
    ("Metadata", "brokers"),
    ("ListGroups", "groups"),
    ("DescribeGroups", "groups"),
    ("DeleteGroups", "results"),
    ("ListTransactions", "transaction_states"),
    ("DescribeLogDirs", "results[].topics"),
    ("ElectLeaders", "replica_election_results"),
}
LISTINGS = UNORDERED | {("DescribeTopicPartitions", "topics")}


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


def bind_request(obj: Any, b: Binding) -> Any:
    """A copy of a step's request with this broker's ids (and record batches built)."""
    new = copy.copy(obj)
    for attr, ftype, *_rest, struct_name in _fields(obj):
        value = getattr(obj, attr)
        if struct_name is not None:
            if isinstance(value, list):
                value = [bind_request(v, b) for v in value]
            elif value is not None:
                value = bind_request(value, b)
        elif isinstance(value, list):
            value = [_bind_value(attr, ftype[2:], v, b) for v in value]
        else:
            value = _bind_value(attr, ftype, value, b)
        setattr(new, attr, value)
    return new


def _bind_value(attr: str, ftype: str, value: Any, b: Binding) -> Any:
    bound = _bound(attr, ftype, value, b)
    # A literal id (one nobody handed out) is echoed as itself by both brokers.
    if (
        isinstance(bound, uuid.UUID)
        or (attr in MEMBER_FIELDS and isinstance(bound, str))
        or attr in PID_FIELDS
        and isinstance(bound, int)
    ):
        b.labels.setdefault(bound, str(bound))
    return bound


def _bound(attr: str, ftype: str, value: Any, b: Binding) -> Any:
    if isinstance(value, gen.Batch):
        pid = b.sent.get(value.producer, gen.UNKNOWN_PID) if value.producer else -1
        return value.build(pid)
    if ftype == "records" and isinstance(value, (bytes, bytearray, memoryview)) and value:
        return _rebind_batches(bytes(value), b)
    if isinstance(value, str) and ftype in ("int16", "int32", "int64"):
        return b.sent.get(value, gen.UNKNOWN_PID)  # a producer-id placeholder
    if isinstance(value, int) and not isinstance(value, bool):
        if attr in PID_FIELDS:
            return b.sent.get(("pid", value), value)
        if attr == "session_id":
            return b.sent.get(("session", value), value)
        return value
    if isinstance(value, (str, uuid.UUID)):
        return b.sent.get(value, value)
    return value


def _rebind_batches(data: bytes, b: Binding) -> bytes:
    """Captured batches carry the producer ids of the capture; give them this broker's."""
    out = bytearray(data)
    for pos, h in list(records.iter_batches(out)):
        pid = b.sent.get(("pid", h.producer_id))
        if h.magic != 2 or pid is None:
            continue
        intact = records.check_crc(out, pos, h.size)
        h.producer_id = pid
        h.crc = 0
        out[pos : pos + records.BATCH_OVERHEAD] = records.pack_header(h)
        crc = records.compute_crc(out, pos, h.size)
        out[pos + 17 : pos + 21] = (crc if intact else crc ^ 1).to_bytes(4, "big")
    return bytes(out)


def learn_ids(recorded: Any, actual: Any, b: Binding) -> None:
    """Pair a captured answer with this broker's to learn which of its ids stand for which."""
    if not isinstance(recorded, Struct) or type(recorded) is not type(actual):
        return
    for attr, ftype, *_rest, struct_name in _fields(recorded):
        r, a = getattr(recorded, attr), getattr(actual, attr)
        if isinstance(r, list) and isinstance(a, list):
            for x, y in zip(r, a):
                if struct_name is not None:
                    learn_ids(x, y, b)
                else:
                    _learn_leaf(attr, ftype[2:], x, y, b)
        elif struct_name is not None:
            learn_ids(r, a, b)
        else:
            _learn_leaf(attr, ftype, r, a, b)


def _learn_leaf(attr: str, ftype: str, r: Any, a: Any, b: Binding) -> None:
    nothing = (None, "", -1, 0, gen.ZERO_ID)
    if r == a or r in nothing or a in nothing:
        return
    if ftype == "uuid" or (ftype == "string" and attr in MEMBER_FIELDS):
        b.sent[r] = a
    elif attr in PID_FIELDS:
        b.sent[("pid", r)] = a
    elif attr == "session_id":
        b.sent[("session", r)] = a


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


# ---- running -------------------------------------------------------------------------------


class Side:
    """One broker: its advertised versions and node id, and the runner of a sequence's steps."""

    def __init__(self, name: str, bootstrap: str, timeout: float = 30.0) -> None:
        self.name = name
        self.bootstrap = bootstrap
        self.timeout = timeout
        self.versions: dict[int, tuple[int, int]] = {}
        self.node_id = -1
        self.local = threading.local()  # each runner thread asks on a connection of its own
        self.admins: list[WireClient] = []

    def _ask(self, request: Any, version: int) -> Any:
        admin = getattr(self.local, "admin", None)
        if admin is None:
            admin = WireClient(self.bootstrap, timeout=self.timeout, client_id=CLIENT_ID)
            self.local.admin = admin
            self.admins.append(admin)
        try:
            return admin.send(request, version)
        except (OSError, ConnectionClosed):
            admin.close()
            self.local.admin = None
            raise

    def close(self) -> None:
        for admin in self.admins:
            admin.close()

    def prepare(self, deadline_s: float = 120.0) -> None:
        """Versions, node id, and both coordinators' internal topics created (Kafka creates
        them on first use and answers COORDINATOR_NOT_AVAILABLE meanwhile)."""
        from kpy.protocol.messages.api_versions import ApiVersionsRequest
        from kpy.protocol.messages.find_coordinator import FindCoordinatorRequest
        from kpy.protocol.messages.metadata import MetadataRequest

        resp = self._ask(
            ApiVersionsRequest(client_software_name=CLIENT_ID, client_software_version="1.0"), 3
        )
        self.versions = {k.api_key: (k.min_version, k.max_version) for k in resp.api_keys}
        self.node_id = self._ask(MetadataRequest(topics=[]), 12).brokers[0].node_id
        for key_type in (0, 1):
            req = FindCoordinatorRequest(key_type=key_type, coordinator_keys=["differential"])
            _until(lambda r=req: self._ask(r, 4).coordinators[0].error_code == 0, deadline_s)

    def run(self, seq: gen.Sequence, clock_floor: int) -> tuple[list[Any], float]:
        """Each step's normalised outcome (an answer, or how the connection behaved), and
        the seconds the sequence took."""
        started = time.monotonic()
        b = Binding(seq, self.node_id, clock_floor)
        conns: dict[int, WireClient] = {}
        outcomes = []
        try:
            for step in seq.steps:
                try:
                    outcomes.append(self._step(step, conns, b))
                except (OSError, ConnectionClosed) as exc:
                    closed = isinstance(exc, ConnectionClosed) or not isinstance(exc, TimeoutError)
                    outcomes.append("<closed>" if closed else "<timeout>")
                    old = conns.pop(step.conn, None)
                    if old is not None:
                        old.close()
                except (EncodeError, ProtocolError) as exc:
                    outcomes.append(f"<{type(exc).__name__}>")
        finally:
            for c in conns.values():
                c.close()
            self._teardown(seq)
        return outcomes, time.monotonic() - started

    def _conn(self, conns: dict[int, WireClient], n: int) -> WireClient:
        if n not in conns:
            conns[n] = WireClient(self.bootstrap, timeout=self.timeout, client_id=CLIENT_ID)
        return conns[n]

    def _step(self, step: gen.Step, conns: dict, b: Binding) -> Any:
        c = self._conn(conns, step.conn)
        if step.op == "raw":
            c.send_raw(step.data)
            return "<sent>"
        if step.op == "recv":
            frame = c.recv_frame()
            if step.key < 0:
                return "<frame>"
            _corr, resp = framing.decode_response(step.key, step.version, frame)
            return normalise(resp, step.version, api_keys.API_KEYS[step.key].name, b)
        if step.op == "is_closed":
            closed = c.is_closed(step.timeout if step.recorded else min(step.timeout, 1.0))
            if closed:
                conns.pop(step.conn).close()
            return "<closed>" if closed else "<open>"
        request = bind_request(step.request, b)
        resp = c.send(request, step.version, expect_response=step.expect_response)
        if resp is None:
            return "<no response>"
        if step.learn is not None:
            step.learn(resp, b)
        if step.recorded is not None:
            learn_ids(step.recorded, resp, b)
        self._settle(step.key, request, resp)
        return normalise(resp, step.version, api_keys.API_KEYS[step.key].name, b)

    def _settle(self, key: int, req: Any, resp: Any) -> None:
        """Wait until what the answer reports is visible to the next request: Kafka's brokers
        learn of created, grown and deleted topics and of finished transactions a moment later."""
        if key == 19 and not req.validate_only:
            self._wait_topics({t.name: None for t in resp.topics if t.error_code == 0})
        elif key == 37 and not req.validate_only:
            counts = {t.name: t.count for t in req.topics}
            self._wait_topics(
                {r.name: counts.get(r.name) for r in resp.results if r.error_code == 0}
            )
        elif key == 20:
            self._wait_topics({r.name: 0 for r in resp.responses if r.error_code == 0 and r.name})
        elif key == 3 and req.allow_auto_topic_creation and req.topics:
            waiting = {t.name: None for t in resp.topics if t.error_code in (3, 5) and t.name}
            self._wait_topics(waiting, deadline_s=3.0, must=False)
        elif key == 26 and resp.error_code == 0:
            self._wait_transaction(req.transactional_id)

    def _wait_topics(
        self, topics: dict[str, int | None], deadline_s: float = 15.0, must: bool = True
    ) -> None:
        """Until each topic has ``count`` partitions with leaders (None: any; 0: gone)."""
        from kpy.protocol.messages.metadata import MetadataRequest

        if not topics:
            return
        req = MetadataRequest(
            topics=[MetadataRequest.MetadataRequestTopic(name=n) for n in topics],
            allow_auto_topic_creation=False,
        )

        def settled() -> bool:
            for t in self._ask(req, 12).topics:
                want = topics.get(t.name)
                if want == 0:
                    ok = t.error_code == 3
                else:
                    ok = t.error_code == 0 and all(p.leader_id >= 0 for p in t.partitions)
                    ok = ok and (want is None or len(t.partitions) == want)
                if not ok:
                    return False
            return True

        _until(settled, deadline_s, must)
        led = [n for n, want in topics.items() if want != 0]
        if led:
            _until(lambda: self._led(led), deadline_s, must)

    def _led(self, names: list[str]) -> bool:
        """Every partition of these topics answers ListOffsets: the broker leads it (Kafka's
        Metadata can list a leader a moment before the partition takes requests)."""
        from kpy.protocol.messages.list_offsets import ListOffsetsRequest as LO
        from kpy.protocol.messages.metadata import MetadataRequest

        topics = [MetadataRequest.MetadataRequestTopic(name=n) for n in names]
        meta = self._ask(MetadataRequest(topics=topics, allow_auto_topic_creation=False), 12)
        req = LO(
            replica_id=-1,
            topics=[
                LO.ListOffsetsTopic(
                    name=t.name,
                    partitions=[
                        LO.ListOffsetsPartition(partition_index=p.partition_index, timestamp=-1)
                        for p in t.partitions
                    ],
                )
                for t in meta.topics
            ],
        )
        resp = self._ask(req, 7)
        return all(p.error_code == 0 for t in resp.topics for p in t.partitions)

    def _wait_transaction(self, txn_id: str) -> None:
        from kpy.protocol.messages.describe_transactions import DescribeTransactionsRequest

        req = DescribeTransactionsRequest(transactional_ids=[txn_id])

        def settled() -> bool:
            state = self._ask(req, 0).transaction_states[0]
            return state.error_code != 0 or not state.transaction_state.startswith("Prepare")

        _until(settled, 10.0, must=False)

    def _teardown(self, seq: gen.Sequence) -> None:
        from kpy.protocol.messages.delete_topics import DeleteTopicsRequest

        if seq.topics:
            try:
                self._ask(DeleteTopicsRequest(topic_names=seq.topics, timeout_ms=5000), 5)
            except (OSError, ConnectionClosed):
                pass


def _until(condition: Any, deadline_s: float, must: bool = True) -> None:
    deadline = time.monotonic() + deadline_s
    while not condition():
        if time.monotonic() > deadline:
            if must:
                raise TimeoutError("the broker did not settle in time")
            return
        time.sleep(0.02)


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


class Runner:
    """Runs sequences against both brokers at once, ``workers`` sequences at a time (their
    names keep them apart), and files each divergence in the report in sequence order."""

    def __init__(self, kafka: Side, kpy: Side, report: Report, workers: int = 4) -> None:
        self.sides = (kafka, kpy)
        self.report = report
        self.workers = workers
        self.pool = ThreadPoolExecutor(max_workers=2 * workers)
        self.clock_floor = int(time.time() * 1000)

    def run(self, seqs: list[gen.Sequence], kind: str) -> None:
        inflight: deque[tuple[gen.Sequence, list[Any]]] = deque()
        for seq in seqs:
            inflight.append(
                (seq, [self.pool.submit(s.run, seq, self.clock_floor) for s in self.sides])
            )
            if len(inflight) >= self.workers:
                self._compare(*inflight.popleft(), kind)
        while inflight:
            self._compare(*inflight.popleft(), kind)

    def _compare(self, seq: gen.Sequence, futures: list[Any], kind: str) -> None:
        (kafka_out, kafka_s), (kpy_out, kpy_s) = (f.result() for f in futures)
        self.report.sequences[kind] += 1
        what = "captured checks" if kind == "captured" else seq.name.split(" ")[0]
        self.report.seconds_by[what] += max(kafka_s, kpy_s)
        for i, (step, k, p) in enumerate(zip(seq.steps, kafka_out, kpy_out)):
            if step.key < 0:
                api, version = "<connection>", 0
            else:
                api, version = api_keys.API_KEYS[step.key].name, step.version
            self.report.requests[(api, version)] += 1
            self.report.kinds["setup" if step.setup else kind] += 1
            for path, kv, pv in diff(k, p):
                self.report.add(
                    Divergence(seq.name, i, api, version, step.setup, path, kv, pv, _show(step))
                )

    def close(self) -> None:
        self.pool.shutdown()
        for s in self.sides:
            s.close()


def _show(step: gen.Step) -> str:
    if step.op != "send":
        return f"{step.op} {step.data.hex()[:80]}" if step.data else step.op
    return f"v{step.version} {step.request!r}"


def shared_versions(kafka: Side, kpy: Side) -> dict[int, tuple[int, int]]:
    """Per API key both brokers advertise: the versions both advertise and kpy can encode."""
    out = {}
    for key, (klo, khi) in kafka.versions.items():
        if key not in kpy.versions or key not in api_keys.API_KEYS:
            continue
        plo, phi = kpy.versions[key]
        clo, chi = api_keys.API_KEYS[key].request_class.VALID_VERSIONS
        lo, hi = max(klo, plo, clo), min(khi, phi, chi)
        if lo <= hi:
            out[key] = (lo, hi)
    return out


def run(
    kafka_bootstrap: str,
    kpy_bootstrap: str,
    *,
    examples: int = 12,
    seed: int = 0,
    checks: bool = True,
    checks_filter: str | None = None,
    apis: list[str] | None = None,
    allow: list[Allow] | None = None,
    workers: int = 4,
    log: Any = None,
) -> Report:
    """Compare the two brokers; ``examples`` is the number of generated sequences per version."""
    started = time.monotonic()
    kafka, kpy = Side("kafka", kafka_bootstrap), Side("kpy", kpy_bootstrap)
    for side in (kafka, kpy):
        side.prepare()
    shared = shared_versions(kafka, kpy)
    report = Report(allow if allow is not None else load_allow())
    report.shared = {api_keys.API_KEYS[k].name: v for k, v in shared.items()}
    report.only_kafka = [
        api_keys.API_KEYS[k].name if k in api_keys.API_KEYS else str(k)
        for k in sorted(kafka.versions)
        if k not in kpy.versions
    ]
    runner = Runner(kafka, kpy, report, workers)
    nonce = uuid.uuid4().hex[:4]
    try:
        if checks:
            with tempfile.TemporaryDirectory(prefix="kpy-differential-") as tmp:
                path = Path(tmp) / "capture.jsonl"
                capture(path, checks_filter)
                runner.run(gen.load_capture(path), "captured")
            _progress(log, report, "captured checks replayed")
        counter = 0
        for key, (lo, hi) in sorted(shared.items()):
            info = api_keys.API_KEYS[key]
            if examples < 1 or (apis and info.name not in apis):
                continue
            seqs = []
            for version in range(lo, hi + 1):
                for requests in gen.generated(info, version, examples, seed):
                    prefix = f"d{nonce}-{counter:05d}"
                    seqs.append(gen.sequence(info, version, requests, prefix))
                    counter += 1
            runner.run(seqs, "generated")
            _progress(log, report, f"{info.name} v{lo}-{hi}")
    finally:
        runner.close()
    report.seconds = time.monotonic() - started
    return report


def _progress(log: Any, report: Report, what: str) -> None:
    if log is not None:
        print(
            f"  {what}: {sum(report.requests.values())} requests, "
            f"{len(report.unexplained)} unexplained divergences",
            file=log,
            flush=True,
        )


def capture(path: Path, checks_filter: str | None = None, timeout: float = 600.0) -> None:
    """Run the conformance checks against a throwaway kpy, recording their raw requests."""
    cmd = [sys.executable, "-m", "conformance", "-q"]
    if checks_filter:
        cmd += ["-k", checks_filter]
    env = {**os.environ, "KPY_WIRE_RECORD": str(path)}
    subprocess.run(cmd, cwd=ROOT, env=env, timeout=timeout, check=False, stdout=subprocess.DEVNULL)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m conformance.differential")
    parser.add_argument("--kafka", help="Apache Kafka's bootstrap (default: start one)")
    parser.add_argument("--kpy", help="kpy's bootstrap (default: start one)")
    parser.add_argument("--examples", type=int, default=12, help="sequences per API version")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--api", action="append", help="only this API (repeatable)")
    parser.add_argument("--no-checks", action="store_true", help="skip the captured checks")
    parser.add_argument("-k", dest="checks_filter", help="only checks matching this expression")
    parser.add_argument("--report", help="write the Markdown report here")
    parser.add_argument("--json", help="write every divergence as JSON here")
    args = parser.parse_args(argv)

    from conformance.reference import ApacheKafkaProcess
    from kpy.testing import BrokerProcess

    with tempfile.TemporaryDirectory(prefix="kpy-differential-") as tmp:
        kafka_proc = kpy_proc = None
        try:
            if not args.kafka:
                kafka_proc = ApacheKafkaProcess(Path(tmp) / "kafka").start()
            if not args.kpy:
                kpy_proc = BrokerProcess(Path(tmp) / "kpy", overrides=KPY_OVERRIDES).start()
            report = run(
                args.kafka or kafka_proc.bootstrap,  # type: ignore[union-attr]
                args.kpy or kpy_proc.bootstrap,  # type: ignore[union-attr]
                examples=args.examples,
                seed=args.seed,
                checks=not args.no_checks,
                checks_filter=args.checks_filter,
                apis=args.api,
                log=sys.stderr,
            )
        finally:
            if kpy_proc is not None:
                kpy_proc.close()
            if kafka_proc is not None:
                kafka_proc.stop()
    if args.report:
        Path(args.report).write_text(report.to_markdown())
    if args.json:
        Path(args.json).write_text(report.to_json())
    print("\n".join(grouped(report.unexplained)))
    print(report.summary())
    return 0 if not report.unexplained else 1


if __name__ == "__main__":
    sys.exit(main())
