"""The broker's request and traffic counters, recorded by dispatch once per request.

``BrokerMetrics.request_done`` runs for every answered request, so it is plain Python on
dicts: a count per (API, version), a latency histogram per API (fixed buckets), a count per
(API, error code) and, for Produce and Fetch, bytes and messages per topic. Nothing here reads
a record: message counts come from the record-count field of each batch header, bytes from
the sizes of the records fields. kpy.http.metrics turns these into Prometheus metrics at
scrape time; ``statistics()`` is the same data as plain values.

What is counted, after Kafka's own meters:
- bytes in and messages in: what Produce appended, per topic and for the broker (Kafka's
  BytesInPerSec and MessagesInPerSec mark a partition's batch once it is in the log); the
  appends of kpy's coordinators to internal topics are not requests and are not counted;
- bytes out: the records fields of Fetch responses, per topic (BytesOutPerSec);
- errors: every ``error_code`` of a response, top-level and per item (topic, partition,
  group, ...), NONE included, as Kafka's ErrorsPerSec counts a response's errorCounts();
- latency: from reading the request's header to its encoded response (Kafka's TotalTimeMs
  also counts the queue and the send, which kpy does not have or does not wait for).
"""

from __future__ import annotations

import struct
from bisect import bisect_left
from collections.abc import Callable
from typing import Any

from kpy.protocol.produce_codec import ProduceAnswer, ProduceView

PRODUCE, FETCH = 0, 1
# Upper bounds (seconds) of the latency buckets; one more bucket for anything slower.
LATENCY_BUCKETS = (
    0.0001,
    0.00025,
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
)
_BUCKETS = len(LATENCY_BUCKETS) + 1
_I32 = struct.Struct(">i")
_BATCH_LENGTH_AT = 8  # a v2 record batch: base offset (8), then the length of the rest
_RECORD_COUNT_AT = 57  # ... and the record count, the last field of its 61-byte header
_BATCH_HEADER = 61
_PRODUCE_NONE = (PRODUCE, 0)

TopicName = Callable[[Any], str | None]


class BrokerMetrics:
    """Counters since the broker started. ``topic_name(topic_id)`` names the topics of
    Fetch v13+, which carry ids only."""

    __slots__ = ("requests", "latency", "errors", "topics", "totals", "_topic_name")

    def __init__(self, topic_name: TopicName = lambda topic_id: None) -> None:
        self.requests: dict[tuple[int, int], int] = {}  # (api key, version) -> requests
        # api key -> [count per bucket (the last: above every bound)..., sum of seconds]
        self.latency: dict[int, list[float]] = {}
        self.errors: dict[tuple[int, int], int] = {}  # (api key, error code) -> count
        self.topics: dict[str, list[int]] = {}  # topic -> [bytes in, messages in, bytes out]
        self.totals = [0, 0, 0]  # the same for the whole broker
        self._topic_name = topic_name

    def request_done(
        self, api_key: int, version: int, request: Any, response: Any, seconds: float
    ) -> None:
        """Count one request; ``response`` None when none is due (acks=0 produce)."""
        key = (api_key, version)
        requests = self.requests
        requests[key] = requests.get(key, 0) + 1
        histogram = self.latency.get(api_key)
        if histogram is None:
            histogram = self.latency[api_key] = [0] * _BUCKETS + [0.0]
        histogram[bisect_left(LATENCY_BUCKETS, seconds)] += 1
        histogram[-1] += seconds
        if api_key == PRODUCE:
            self._produced(request, response)
        elif api_key == FETCH:
            self._fetched(response)
        elif response is not None:
            self._count_errors(api_key, response)

    def _error(self, api_key: int, code: int, n: int = 1) -> None:
        key = (api_key, code)
        self.errors[key] = self.errors.get(key, 0) + n

    def _topic(self, name: str) -> list[int]:
        counts = self.topics.get(name)
        if counts is None:
            counts = self.topics[name] = [0, 0, 0]
        return counts

    def _produced(self, request: Any, response: Any) -> None:
        if response is None:
            failed = None  # acks=0, answered (with nothing) only when all was appended
        elif type(response) is ProduceAnswer:
            failed = _failed(response.results)
        else:
            self._count_errors(PRODUCE, response)  # an error response: nothing appended
            return
        if type(request) is ProduceView:
            topics: Any = request.topics
        else:
            topics = [
                (t.name, [(p.index, p.records) for p in t.partition_data])
                for t in request.topic_data
            ]
        appended = 0
        totals = self.totals
        for name, parts in topics:
            counts = None
            for index, records in parts:
                if records is None or (failed is not None and failed.get((name, index))):
                    continue
                size = len(records)
                messages = _record_count(records, size)
                if counts is None:
                    counts = self.topics.get(name) or self._topic(name)
                counts[0] += size
                counts[1] += messages
                totals[0] += size
                totals[1] += messages
                appended += 1
        if failed is None:
            errors = self.errors
            errors[_PRODUCE_NONE] = errors.get(_PRODUCE_NONE, 0) + appended
        else:
            for code in failed.values():
                self._error(PRODUCE, code)

    def _fetched(self, response: Any) -> None:
        errors = self.errors
        key = (FETCH, response.error_code)
        errors[key] = errors.get(key, 0) + 1
        totals = self.totals
        for topic in response.responses:
            name = topic.topic or self._topic_name(topic.topic_id)
            sent = 0
            for p in topic.partitions:
                key = (FETCH, p.error_code)
                errors[key] = errors.get(key, 0) + 1
                if p.records is not None:
                    sent += len(p.records)
            if sent and name:
                self._topic(name)[2] += sent
                totals[2] += sent

    def _count_errors(self, api_key: int, message: Any) -> None:
        """Count every ``error_code`` of a generated message, nested structures included."""
        errors = self.errors
        stack = [message]
        while stack:
            obj = stack.pop()
            has_error, nested = _PLANS.get(type(obj)) or _plan(type(obj))
            if has_error:
                key = (api_key, obj.error_code)
                errors[key] = errors.get(key, 0) + 1
            for name in nested:
                value = getattr(obj, name)
                if type(value) is list:
                    stack.extend(value)
                elif value is not None:
                    stack.append(value)

    def forget_topic(self, name: str) -> None:
        """Drop a deleted topic's counters (the broker-wide totals keep what it counted)."""
        self.topics.pop(name, None)

    def statistics(self) -> dict[str, Any]:
        """Copies of the counters: ``requests`` {(api key, version): n}, ``latency`` {api key:
        (bucket counts, sum of seconds)}, ``errors`` {(api key, code): n}, ``topics`` {topic:
        (bytes in, messages in, bytes out)}, ``totals`` (the same for the broker)."""
        return {
            "requests": dict(self.requests),
            "latency": {k: (list(h[:-1]), h[-1]) for k, h in self.latency.items()},
            "errors": dict(self.errors),
            "topics": {name: tuple(c) for name, c in self.topics.items()},
            "totals": tuple(self.totals),
        }


def _failed(results: list) -> dict[tuple[str, int], int] | None:
    """None when every partition was appended, else {(topic, partition): error code}."""
    for _, outcomes in results:
        for outcome in outcomes:
            if outcome[1]:
                return {(name, o[0]): o[1] for name, outs in results for o in outs}
    return None


def _record_count(records: Any, size: int) -> int:
    """Records in the v2 batches of ``records``, from their headers."""
    n, pos = 0, 0
    while pos + _BATCH_HEADER <= size:
        n += _I32.unpack_from(records, pos + _RECORD_COUNT_AT)[0]
        length = _I32.unpack_from(records, pos + _BATCH_LENGTH_AT)[0]
        if length <= 0:
            break
        pos += 12 + length
    return n


# A generated message class -> (whether it has an error_code, its fields holding structures).
_PLANS: dict[type, tuple[bool, tuple[str, ...]]] = {}


def _plan(cls: type) -> tuple[bool, tuple[str, ...]]:
    fields = getattr(cls, "FIELDS", ())
    plan = _PLANS[cls] = (
        any(f[0] == "error_code" for f in fields),
        # Structure types are named in CamelCase, primitives in lower case ([]int32, string).
        tuple(f[0] for f in fields if f[1].lstrip("[]")[:1].isupper()),
    )
    return plan
