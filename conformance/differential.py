"""Differential testing: the same requests to Apache Kafka and to kpy, the answers compared.

    python -m conformance.differential [--kafka HOST:PORT] [--kpy HOST:PORT] [--examples N]
        [--seed N] [--api NAME ...] [--no-checks] [-k FILTER] [--report FILE.md] [--json FILE]

Without --kafka or --kpy a fresh ApacheKafkaProcess or kpy BrokerProcess is started. Sequences
come from two sources: requests the conformance checks send, recorded by conformance/wire.py
against a throwaway kpy and replayed (differential_capture.py), and requests hypothesis draws
from the schemas for every API and version both brokers advertise (differential_gen.py). Each sequence uses names of its own,
so both brokers start it in the same state. Here:

- bind_request(), learn_ids(): a step's request with one broker's ids (topic ids, member ids,
  producer ids differ between brokers), learned from setup answers or, for a replayed check,
  by pairing the answer recorded at capture time with this broker's.
- Side: runs a sequence's steps against one broker, waiting where Kafka applies metadata
  asynchronously (created, grown or deleted topics, committed transactions) before going on.
- Runner: runs each sequence on both brokers at once, a few sequences at a time, and compares
  (differential_compare.py: normalise, diff, the allow-list, the report).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from conformance import differential_gen as gen
from conformance.differential_capture import load_capture
from conformance.differential_compare import (
    MEMBER_FIELDS,
    PID_FIELDS,
    Allow,
    Binding,
    Divergence,
    Report,
    diff,
    grouped,
    load_allow,
    normalise,
)
from conformance.wire import ConnectionClosed, WireClient
from kpy.protocol import api_keys, framing, records
from kpy.protocol.primitives import EncodeError, ProtocolError, Struct

__all__ = ["KPY_OVERRIDES", "grouped", "main", "run"]

ROOT = Path(__file__).resolve().parents[1]
CLIENT_ID = "kpy-differential"
# kpy started by the harness matches Kafka's defaults where an answer shows them.
KPY_OVERRIDES = {"offsets.topic.num.partitions": 50, "transaction.state.log.num.partitions": 50}


def bind_request(obj: Any, b: Binding) -> Any:
    """A copy of a step's request with this broker's ids (and record batches built)."""
    return gen.map_leaves(obj, lambda attr, ftype, value: _bind_value(attr, ftype, value, b))


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
    for attr, ftype, *_rest, struct_name in type(recorded).FIELDS:
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
    # A producer id of 0 is a real one (the first a fresh broker hands out: the capture's kpy
    # gives it to the first check asking, whose batches then carry it).
    nothing = (None, "", -1, gen.ZERO_ID) if attr in PID_FIELDS else (None, "", -1, 0, gen.ZERO_ID)
    if r == a or r in nothing or a in nothing:
        return
    # The first answer naming an id is the one that handed it out; later ones (listings of
    # every transaction or group, paired by position) must not rebind it.
    if ftype == "uuid" or (ftype == "string" and attr in MEMBER_FIELDS):
        b.sent.setdefault(r, a)
    elif attr in PID_FIELDS:
        b.sent.setdefault(("pid", r), a)
    elif attr == "session_id":
        b.sent.setdefault(("session", r), a)


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
        """Versions, node id, both coordinators' internal topics created (Kafka creates them
        on first use and answers COORDINATOR_NOT_AVAILABLE meanwhile), the group '' made."""
        from kpy.protocol.messages.api_versions import ApiVersionsRequest
        from kpy.protocol.messages.find_coordinator import FindCoordinatorRequest
        from kpy.protocol.messages.metadata import MetadataRequest
        from kpy.protocol.messages.offset_commit import OffsetCommitRequest

        resp = self._ask(
            ApiVersionsRequest(client_software_name=CLIENT_ID, client_software_version="1.0"), 3
        )
        self.versions = {k.api_key: (k.min_version, k.max_version) for k in resp.api_keys}
        self.node_id = self._ask(MetadataRequest(topics=[]), 12).brokers[0].node_id
        for key_type in (0, 1):
            req = FindCoordinatorRequest(key_type=key_type, coordinator_keys=["differential"])
            _until(lambda r=req: self._ask(r, 4).coordinators[0].error_code == 0, deadline_s)
        # The group id '' is the one no sequence can make its own: on a shared reference it
        # exists once anybody committed to it (Kafka takes commits to it, for old clients), so
        # each run makes it exist on both brokers before comparing.
        C = OffsetCommitRequest
        partition = C.OffsetCommitRequestPartition(partition_index=0, committed_offset=0)
        topic = C.OffsetCommitRequestTopic(name="__consumer_offsets", partitions=[partition])
        self._ask(C(group_id="", generation_id_or_member_epoch=-1, topics=[topic]), 8)

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
                runner.run(load_capture(path), "captured")
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
