"""``/metrics``: a broker's counters in Prometheus text format, named as the Prometheus JMX
exporter names Kafka's MBeans.

Each broker has a registry of its own (never prometheus_client's global one, so several
brokers in one process do not clash) holding a collector that reads the broker at scrape time
(``Broker.statistics()``, its request counters from kpy.metrics, committed offsets and log
sizes) and prometheus_client's process collector (CPU seconds, resident memory, open files).

Names (``METRICS`` below, and the README's table): Kafka's ``kafka.server:type=
BrokerTopicMetrics,name=BytesInPerSec,topic=T`` becomes the counter
``kafka_server_brokertopicmetrics_bytesin_total{topic="T"}``, the broker-wide meter the same
name without a label; RequestMetrics are per request name as Kafka spells it (``Produce``,
``Fetch``, ``Metadata``, ...). Latency is a histogram in seconds, as Prometheus names units
(Kafka's TotalTimeMs is a histogram in milliseconds). Consumer group lag follows the
kafka_exporter convention: ``kafka_consumergroup_lag{consumergroup,topic,partition}`` = high
watermark - committed offset (0 when the committed offset is ahead).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry, ProcessCollector
from prometheus_client.exposition import generate_latest
from prometheus_client.metrics_core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)

from kpy.metrics import LATENCY_BUCKETS
from kpy.protocol import api_keys
from kpy.protocol.error_codes import ErrorCode

if TYPE_CHECKING:
    from kpy.broker import Broker

__all__ = ["CONTENT_TYPE", "METRICS", "BrokerCollector", "registry_for", "scrape"]

# The classic text format, which every Prometheus reads (prometheus_client's "latest" is 1.0.0
# from 0.22 on; the body is the same for names like these).
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

# name (without _total for counters) -> (type, labels, help); the README lists the same.
METRICS: dict[str, tuple[str, tuple[str, ...], str]] = {
    "kafka_server_brokertopicmetrics_bytesin": (
        "counter",
        ("topic",),
        "Bytes of record batches appended by Produce, per topic and (no label) in all",
    ),
    "kafka_server_brokertopicmetrics_messagesin": (
        "counter",
        ("topic",),
        "Records appended by Produce (from batch headers), per topic and in all",
    ),
    "kafka_server_brokertopicmetrics_bytesout": (
        "counter",
        ("topic",),
        "Bytes of records sent in Fetch responses, per topic and in all",
    ),
    "kafka_network_requestmetrics_requests": (
        "counter",
        ("request", "version"),
        "Requests answered, per API and version",
    ),
    "kafka_network_requestmetrics_errors": (
        "counter",
        ("request", "error"),
        "Error codes in responses (top-level and per item, NONE included), per API",
    ),
    "kafka_network_requestmetrics_totaltime_seconds": (
        "histogram",
        ("request",),
        "Time from reading a request to its encoded response, per API",
    ),
    "kafka_server_socket_server_metrics_connection_count": (
        "gauge",
        ("listener",),
        "Open client connections per listener",
    ),
    "kafka_log_log_size": ("gauge", ("topic", "partition"), "Bytes of a partition's log"),
    "kafka_log_log_numlogsegments": (
        "gauge",
        ("topic", "partition"),
        "Segments of a partition's log",
    ),
    "kafka_log_log_logstartoffset": ("gauge", ("topic", "partition"), "Log start offset"),
    "kafka_log_log_logendoffset": ("gauge", ("topic", "partition"), "Log end offset"),
    "kafka_consumergroup_current_offset": (
        "gauge",
        ("consumergroup", "topic", "partition"),
        "Committed offset of a group for a partition",
    ),
    "kafka_consumergroup_lag": (
        "gauge",
        ("consumergroup", "topic", "partition"),
        "High watermark minus the group's committed offset (at least 0)",
    ),
}

_FAMILIES = {"counter": CounterMetricFamily, "gauge": GaugeMetricFamily}


def _family(name: str) -> Any:
    kind, labels, doc = METRICS[name]
    return _FAMILIES[kind](name, doc, labels=list(labels))


def _api_name(key: int) -> str:
    info = api_keys.API_KEYS.get(key)
    return info.name if info is not None else str(key)


def _error_name(code: int) -> str:
    try:
        return ErrorCode(code).name
    except ValueError:
        return str(code)


class BrokerCollector:
    """A prometheus_client collector reading one broker when scraped (on its trio thread)."""

    def __init__(self, broker: Broker) -> None:
        self.broker = broker

    def collect(self) -> Iterator[Metric]:
        stats = self.broker.statistics()
        yield from self._traffic(stats["requests"])
        yield from self._requests(stats["requests"])
        connections = _family("kafka_server_socket_server_metrics_connection_count")
        for listener, n in sorted(stats["connections_by_listener"].items()):
            connections.add_metric([listener], n)
        yield connections
        yield from self._logs(stats["partitions"])
        yield from self._lag()

    def _traffic(self, requests: dict[str, Any]) -> Iterator[Metric]:
        names = (
            "kafka_server_brokertopicmetrics_bytesin",
            "kafka_server_brokertopicmetrics_messagesin",
            "kafka_server_brokertopicmetrics_bytesout",
        )
        for i, name in enumerate(names):
            family = _family(name)
            family.add_sample(name + "_total", {}, requests["totals"][i])
            for topic, counts in sorted(requests["topics"].items()):
                family.add_metric([topic], counts[i])
            yield family

    def _requests(self, requests: dict[str, Any]) -> Iterator[Metric]:
        counts = _family("kafka_network_requestmetrics_requests")
        for (key, version), n in sorted(requests["requests"].items()):
            counts.add_metric([_api_name(key), str(version)], n)
        yield counts
        errors = _family("kafka_network_requestmetrics_errors")
        for (key, code), n in sorted(requests["errors"].items()):
            errors.add_metric([_api_name(key), _error_name(code)], n)
        yield errors
        name = "kafka_network_requestmetrics_totaltime_seconds"
        _, labels, doc = METRICS[name]
        latency = HistogramMetricFamily(name, doc, labels=list(labels))
        for key, (buckets, total) in sorted(requests["latency"].items()):
            cumulative, running = [], 0
            for bound, n in zip((*map(repr, LATENCY_BUCKETS), "+Inf"), buckets, strict=True):
                running += n
                cumulative.append((bound, running))
            latency.add_metric([_api_name(key)], cumulative, total)
        yield latency

    def _logs(self, partitions: dict[tuple[str, int], dict[str, int]]) -> Iterator[Metric]:
        fields = {
            "kafka_log_log_size": "size",
            "kafka_log_log_numlogsegments": "segments",
            "kafka_log_log_logstartoffset": "log_start_offset",
            "kafka_log_log_logendoffset": "log_end_offset",
        }
        for name, field in fields.items():
            family = _family(name)
            for (topic, partition), s in sorted(partitions.items()):
                family.add_metric([topic, str(partition)], s[field])
            yield family

    def _lag(self) -> Iterator[Metric]:
        current = _family("kafka_consumergroup_current_offset")
        lag = _family("kafka_consumergroup_lag")
        logs = self.broker.logs
        for group, offsets in sorted(self.broker.groups.committed_offsets().items()):
            for (topic, partition), offset in sorted(offsets.items()):
                labels = [group, topic, str(partition)]
                current.add_metric(labels, offset)
                log = logs.get_log(topic, partition)
                if log is not None and not log.offline and offset >= 0:
                    lag.add_metric(labels, max(log.high_watermark - offset, 0))
        yield current
        yield lag


def registry_for(broker: Broker) -> CollectorRegistry:
    """A registry of this broker's own: its collector and the process collector."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(BrokerCollector(broker))
    ProcessCollector(registry=registry)
    return registry


def scrape(registry: CollectorRegistry) -> bytes:
    """The text exposition of ``registry`` (Prometheus text format 0.0.4)."""
    return generate_latest(registry)
