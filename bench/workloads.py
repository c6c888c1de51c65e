"""Client-side workloads, each run in a fresh process: `python -m bench.workloads NAME ...`.

Every workload drives the broker with confluent-kafka (librdkafka) and prints exactly one line
`BENCH-RESULT {json}` on stdout: {"ok": true, "value": float, "extra": {...}} or
{"ok": false, "error": "..."}. Setup (topic creation, preloading data) is never timed.
A workload that stops making progress fails with the last client error it saw instead of
hanging; the runner adds a hard timeout on top.
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import resource
import sys
import threading
import time

RESULT_PREFIX = "BENCH-RESULT "
STALL_SECONDS = 15.0


class WorkloadFailed(Exception):
    pass


class Errors(logging.Handler):
    """Collects client errors and librdkafka's warnings so a failure can name its cause.

    Pass the instance as `error_cb` and `errors.logger` as `logger` in a client's config.
    """

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.last = ""
        self.log = ""
        self.logger = logging.getLogger(f"bench.rdkafka.{id(self)}")
        self.logger.propagate = False
        self.logger.addHandler(self)

    def __call__(self, err) -> None:
        self.last = str(err)

    def emit(self, record: logging.LogRecord) -> None:
        self.log = record.getMessage()

    def reason(self, default: str) -> str:
        parts = [default]
        if self.log:
            parts.append(f"client log: {self.log}")
        if self.last:
            parts.append(f"last client error: {self.last}")
        return "; ".join(parts)


def payloads(size: int, count: int = 1024) -> list[bytes]:
    """`count` distinct records of `size` bytes of word-like text (lz4 makes them ~2.2x smaller, as on logs)."""
    rnd = random.Random(42)
    words = [
        "".join(rnd.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rnd.randint(2, 9)))
        for _ in range(400)
    ]
    out = []
    for i in range(count):
        text = f"{i:08d} " + " ".join(rnd.choice(words) for _ in range(size // 3))
        out.append(text.encode()[:size].ljust(size, b"."))
    return out


def producer_config(bootstrap: str, errors: Errors, **overrides) -> dict:
    config = {
        "bootstrap.servers": bootstrap,
        "linger.ms": 5,
        "batch.size": 1_000_000,
        "acks": "all",
        "delivery.timeout.ms": 60_000,
        "error_cb": errors,
        "logger": errors.logger,
    }
    config.update(overrides)
    return config


def cpu_seconds() -> float:
    """User + system CPU time of this process so far (librdkafka's threads included)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def create_topic(bootstrap: str, topic: str, partitions: int, timeout: float = 60.0) -> None:
    """Create `topic` unless it exists (made by a setup step) and wait until metadata shows
    every partition with a leader."""
    from confluent_kafka import KafkaError, KafkaException
    from confluent_kafka.admin import AdminClient, NewTopic

    errors = Errors()
    admin = AdminClient(
        {"bootstrap.servers": bootstrap, "error_cb": errors, "logger": errors.logger}
    )
    future = admin.create_topics([NewTopic(topic, partitions, 1)], request_timeout=timeout)[topic]
    try:
        future.result(timeout)
    except Exception as exc:
        exists = (
            isinstance(exc, KafkaException)
            and exc.args[0].code() == KafkaError.TOPIC_ALREADY_EXISTS
        )
        if not exists:
            raise WorkloadFailed(f"create topic {topic} ({partitions} partitions): {exc}") from exc
    deadline = time.monotonic() + timeout
    while True:
        md = admin.list_topics(topic, timeout=10).topics.get(topic)
        ok = md is not None and md.error is None and len(md.partitions) == partitions
        if ok and all(p.leader >= 0 for p in md.partitions.values()):
            return
        if time.monotonic() > deadline:
            raise WorkloadFailed(errors.reason(f"topic {topic} has no leaders after {timeout} s"))
        time.sleep(0.1)


def produce(
    bootstrap: str,
    topic: str,
    *,
    count: int,
    size: int,
    partitions: int = 1,
    spread: bool = False,
    **overrides,
) -> dict:
    """Produce `count` records of `size` bytes; return timing. With `spread`, round-robin the
    records over `partitions` explicitly so that every partition gets its share.

    Success is judged from delivery reports, which librdkafka sends for failures only here so
    that the Python loop pays nothing per acknowledged record. (High watermarks are no check:
    one peer reports the last batch's base offset as its high watermark.)
    """
    from confluent_kafka import Producer

    errors = Errors()
    failed = {"count": 0, "first": ""}

    def on_delivery(err, _msg) -> None:
        if err is not None:
            failed["count"] += 1
            failed["first"] = failed["first"] or str(err)

    config = producer_config(bootstrap, errors, **overrides)
    config.update({"on_delivery": on_delivery, "delivery.report.only.error": True})
    producer = Producer(config)
    pool = payloads(size)
    mask = len(pool) - 1
    send, poll = producer.produce, producer.poll
    start, cpu = time.perf_counter(), cpu_seconds()
    for i in range(count):
        kwargs = {"partition": i % partitions} if spread else {}
        while True:
            try:
                send(topic, pool[i & mask], **kwargs)
                break
            except BufferError:
                poll(0.001)  # queue full: let delivery reports drain
        if i & 8191 == 0:
            poll(0)
    left = producer.flush(120)
    elapsed = time.perf_counter() - start
    cpu = cpu_seconds() - cpu
    if left:
        raise WorkloadFailed(errors.reason(f"{left} of {count} records not delivered in 120 s"))
    if failed["count"]:
        raise WorkloadFailed(f"{failed['count']} of {count} records failed: {failed['first']}")
    return {
        "seconds": elapsed,
        "records": count,
        "bytes": count * size,
        "client_cpu_ms": cpu * 1000,
    }


# --- the workloads ------------------------------------------------------------------------------


def w_produce(bootstrap: str, p: dict) -> tuple[float, dict]:
    partitions = p.get("partitions", 1)
    create_topic(bootstrap, "bench", partitions)
    overrides = {"acks": p.get("acks", "all")}
    if p.get("compression"):
        overrides["compression.type"] = p["compression"]
    stats = produce(
        bootstrap,
        "bench",
        count=p["count"],
        size=p["size"],
        partitions=partitions,
        spread=partitions > 1,
        **overrides,
    )
    if p.get("unit") == "msgs/s":
        return stats["records"] / stats["seconds"], stats
    return stats["bytes"] / stats["seconds"] / 1e6, stats


def w_preload(bootstrap: str, p: dict) -> tuple[float, dict]:
    """Untimed setup for the consume workload (acks=1 so that it is quick everywhere)."""
    create_topic(bootstrap, "bench", 1)
    stats = produce(bootstrap, "bench", count=p["count"], size=p["size"], acks="1")
    return stats["bytes"] / stats["seconds"] / 1e6, stats


def w_consume(bootstrap: str, p: dict) -> tuple[float, dict]:
    """Read `count` records from offset 0 of a preloaded partition: MB/s, or records/s with
    `"unit": "msgs/s"`.

    Timed from the first record received: before it, librdkafka waits on its own offset-query
    timer (~0.5 s) whatever the broker does. fetch.queue.backoff.ms is lowered from its 1 s
    default: once the consumer's local queue passes queued.min.messages (100,000) or
    queued.max.messages.kbytes, librdkafka pauses fetching for that long, which on a broker
    that fills the queue faster than the Python loop drains it turns the figure into a measure
    of that pause (the same setting for every broker). With `"client_defaults": true` the
    consumer keeps every librdkafka default, pause included, as a stock application does.

    librdkafka's statistics (every 500 ms, read once more after the timed part) give the
    Fetch requests it sent and the bytes it received, so the result also tells how much each
    fetch response carried.
    """
    from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

    errors = Errors()
    seen: dict = {"fetches": 0, "rx_bytes": 0, "reports": 0}

    def on_stats(raw: str) -> None:
        brokers = json.loads(raw).get("brokers", {}).values()
        # The bootstrap entry (nodeid -1) carries only the first Metadata exchange.
        known = [b for b in brokers if b.get("nodeid", -1) >= 0]
        seen["fetches"] = sum(b.get("req", {}).get("Fetch", 0) for b in known)
        seen["rx_bytes"] = sum(b.get("rxbytes", 0) for b in known)
        seen["reports"] += 1

    config = {
        "bootstrap.servers": bootstrap,
        "group.id": "kpy-bench-consume",
        "enable.auto.commit": False,
        "auto.offset.reset": "earliest",
        "statistics.interval.ms": 500,
        "stats_cb": on_stats,
        "error_cb": errors,
        "logger": errors.logger,
    }
    if not p.get("client_defaults"):
        config["fetch.queue.backoff.ms"] = 10
    consumer = Consumer(config)
    want, got, nbytes = p["count"], 0, 0
    first_at = first_got = first_bytes = 0
    assigned_at = last_progress = time.perf_counter()
    consumer.assign([TopicPartition("bench", 0, OFFSET_BEGINNING)])
    try:
        while got < want:
            # consume() waits for the full count or the timeout: never ask for more than is left,
            # and take the first record alone so that the clock starts when it arrives.
            ask = min(10_000, want - got) if first_at else 1
            batch = consumer.consume(num_messages=ask, timeout=1.0)
            now = time.perf_counter()
            for msg in batch:
                err = msg.error()
                if err is not None:
                    errors(err)
                    if err.fatal():
                        raise WorkloadFailed(str(err))
                    continue
                got += 1
                nbytes += len(msg.value())
            if batch:
                last_progress = now
                if not first_at:
                    first_at, first_got, first_bytes, cpu = now, got, nbytes, cpu_seconds()
            elif now - last_progress > STALL_SECONDS:
                raise WorkloadFailed(
                    errors.reason(f"no progress for {STALL_SECONDS:.0f} s after {got} of {want}")
                )
        elapsed = time.perf_counter() - first_at
        cpu = cpu_seconds() - cpu
        # One more statistics report, so that the counts include the last fetches.
        reports, deadline = seen["reports"], time.monotonic() + 2.0
        while seen["reports"] == reports and time.monotonic() < deadline:
            consumer.poll(0.1)
    finally:
        consumer.close()
    extra = {"seconds": elapsed, "records": got, "bytes": nbytes}
    extra["first_record_s"] = first_at - assigned_at
    extra["client_cpu_ms"] = cpu * 1000
    extra["fetch_requests"] = seen["fetches"]
    if seen["fetches"]:
        extra["records_per_fetch"] = got / seen["fetches"]
        extra["bytes_per_fetch"] = seen["rx_bytes"] / seen["fetches"]
    elapsed = max(elapsed, 1e-9)
    if p.get("unit") == "msgs/s":
        return (got - first_got) / elapsed, extra
    return (nbytes - first_bytes) / elapsed / 1e6, extra


def w_latency(bootstrap: str, p: dict) -> tuple[float, dict]:
    """Produce at a fixed rate and consume in another thread; latency = receive - send.

    linger.ms is 0 here: with 5 ms every record would wait for the linger timer and the
    figure would measure the client, not the broker.
    """
    from confluent_kafka import OFFSET_BEGINNING, Consumer, Producer, TopicPartition

    create_topic(bootstrap, "bench", 1)
    errors = Errors()
    producer = Producer(producer_config(bootstrap, errors, **{"linger.ms": 0}))
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": "kpy-bench-latency",
            "enable.auto.commit": False,
            "error_cb": errors,
            "logger": errors.logger,
        }
    )
    consumer.assign([TopicPartition("bench", 0, OFFSET_BEGINNING)])
    latencies: list[float] = []
    seen = {"warm": 0}
    done = threading.Event()

    def consume_loop() -> None:
        # poll(), not consume(n, timeout): consume waits for n records or the whole timeout,
        # which would add up to that timeout to every latency.
        while not done.is_set():
            msg = consumer.poll(0.05)
            if msg is None:
                continue
            if msg.error() is not None:
                errors(msg.error())
                continue
            now = time.perf_counter_ns()
            value = msg.value()
            if value[:1] == b"w":
                seen["warm"] += 1
            else:
                latencies.append((now - int.from_bytes(value[1:9], "big")) / 1e6)

    thread = threading.Thread(target=consume_loop, daemon=True)
    thread.start()
    try:
        # Warm-up: connections and the first fetch are not part of the figure.
        deadline = time.monotonic() + 30
        while seen["warm"] == 0:
            producer.produce("bench", b"w" + bytes(99))
            producer.poll(0.05)
            if time.monotonic() > deadline:
                raise WorkloadFailed(errors.reason("no record came back within 30 s"))
        rate, seconds = p["rate"], p["seconds"]
        count = int(rate * seconds)
        start = time.perf_counter()
        for i in range(count):
            target = start + i / rate
            pause = target - time.perf_counter()
            if pause > 0:
                time.sleep(pause)
            producer.produce("bench", b"m" + time.perf_counter_ns().to_bytes(8, "big") + bytes(91))
            producer.poll(0)
        producer.flush(30)
        deadline = time.monotonic() + 10
        while len(latencies) < count and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        done.set()
        thread.join(5)
        consumer.close()
    if len(latencies) < count:
        raise WorkloadFailed(errors.reason(f"received {len(latencies)} of {count} records"))
    latencies.sort()
    p50 = latencies[len(latencies) // 2]
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    return p99, {"p50_ms": p50, "p99_ms": p99, "max_ms": latencies[-1], "records": count}


def w_warmup(bootstrap: str, p: dict) -> tuple[float, dict]:
    """Untimed, with --warmup: for about `seconds`, produce 1 KiB records (acks=all) to a topic
    of its own, half in batches and half one at a time, then read them back, so that a JIT
    (the JVM's) has compiled the produce and fetch paths before the timed part."""
    from confluent_kafka import OFFSET_BEGINNING, Consumer, Producer, TopicPartition

    seconds, topic = p["seconds"], "bench-warmup"
    create_topic(bootstrap, topic, 1)
    errors = Errors()
    pool = payloads(1024)
    sent = 0
    for overrides, share in (({}, 0.3), ({"linger.ms": 0}, 0.3)):
        producer = Producer(producer_config(bootstrap, errors, **overrides))
        until = time.monotonic() + seconds * share
        while time.monotonic() < until:
            try:
                producer.produce(topic, pool[sent & 1023])
                sent += 1
            except BufferError:
                producer.poll(0.001)
            if overrides:  # one record at a time: wait for its acknowledgement
                producer.flush(10)
        if producer.flush(60):
            raise WorkloadFailed(errors.reason("warm-up records not delivered in 60 s"))
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": "kpy-bench-warmup",
            "enable.auto.commit": False,
            "error_cb": errors,
            "logger": errors.logger,
        }
    )
    consumer.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])
    got, until = 0, time.monotonic() + max(seconds * 0.4, 5.0)
    try:
        while got < sent and time.monotonic() < until:
            got += sum(1 for m in consumer.consume(10_000, timeout=0.5) if m.error() is None)
    finally:
        consumer.close()
    return 0.0, {"records": sent, "read": got}


def w_topic(bootstrap: str, p: dict) -> tuple[float, dict]:
    """Untimed setup: the workload's topic, made before the broker's CPU time is read."""
    create_topic(bootstrap, "bench", p["partitions"])
    return 0.0, {}


def w_create(bootstrap: str, p: dict) -> tuple[float, dict]:
    """Untimed setup: a topic with many partitions, one record in each."""
    create_topic(bootstrap, "bench", p["partitions"])
    produce(
        bootstrap, "bench", count=p["partitions"], size=100, partitions=p["partitions"], spread=True
    )
    return 0.0, {}


WORKLOADS = {
    "produce": w_produce,
    "preload": w_preload,
    "consume": w_consume,
    "latency": w_latency,
    "create": w_create,
    "topic": w_topic,
    "warmup": w_warmup,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.workloads")
    parser.add_argument("workload", choices=sorted(WORKLOADS))
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--params", default="{}", help="JSON object of workload parameters")
    args = parser.parse_args(argv)
    try:
        value, extra = WORKLOADS[args.workload](args.bootstrap, json.loads(args.params))
        result = {"ok": True, "value": value, "extra": extra}
    except WorkloadFailed as exc:
        result = {"ok": False, "error": str(exc)}
    except Exception as exc:  # any client exception is a result to report, not a crash
        result = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
    sys.stdout.write(RESULT_PREFIX + json.dumps(result) + "\n")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
