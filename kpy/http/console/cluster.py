"""The cluster pages: the overview (brokers, counts, live produce and fetch rates), the
broker's configs and the connected clients, and the JSON the pages' charts poll.

Topics, groups and configs come through kpy.client (Kafka requests on the broker's own
request path); what no Kafka request reports comes from the broker directly: its live
connections (``Broker.clients()``) and its traffic counters (``Broker.metrics``, which
/metrics exports too).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from starlette.responses import JSONResponse
from starlette.routing import Route

import kpy
from kpy.client import ClientError, admin, groups
from kpy.http.console.common import kafka

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response

    from kpy.broker import Broker
    from kpy.http.app import HttpContext
    from kpy.http.console.templating import Pages

PRODUCE, FETCH = 0, 1

# The overview's charts: (counter of /console/api/rates, title, unit).
CHARTS = (
    ("produce_messages", "Produce: messages in", "count"),
    ("produce_bytes", "Produce: bytes in", "bytes"),
    ("fetch_bytes", "Fetch: bytes out", "bytes"),
    ("fetch_requests", "Fetch: requests", "count"),
)


def rate_counters(broker: Broker) -> dict[str, int]:
    """The broker's cumulative traffic counters the charts turn into rates (the page divides
    the difference of two polls by the time between them, so the server keeps no history)."""
    metrics = broker.metrics
    bytes_in, messages_in, bytes_out = metrics.totals
    by_api: dict[int, int] = {}
    for (api_key, _version), n in metrics.requests.items():
        by_api[api_key] = by_api.get(api_key, 0) + n
    return {
        "produce_bytes": bytes_in,
        "produce_messages": messages_in,
        "produce_requests": by_api.get(PRODUCE, 0),
        "fetch_bytes": bytes_out,
        "fetch_requests": by_api.get(FETCH, 0),
        "requests": sum(by_api.values()),
    }


def software_text(name: str | None, version: str | None) -> str:
    if not name:
        return "–"  # a client older than ApiVersions v3 (KIP-511) does not say
    return f"{name} {version}" if version else name


class ClusterPages:
    def __init__(self, ctx: HttpContext, pages: Pages) -> None:
        self.ctx = ctx
        self.pages = pages

    def routes(self) -> list[Route]:
        return [
            Route("/", self.overview, name="overview"),
            Route("/broker", self.broker, name="broker"),
            Route("/clients", self.clients, name="clients"),
            Route("/console/api/rates", self.rates, name="rates"),
            Route("/console/api/clients", self.client_counters, name="client_counters"),
        ]

    async def overview(self, request: Request) -> Response:
        async with kafka(self.ctx) as client:
            cluster = await client.refresh_metadata()
            listed = await groups.list_groups(client)
        topics = [t for t in cluster.topics.values() if not t.is_internal]
        stats: list[tuple[str, Any, Any]] = [
            ("topics", len(topics), request.url_for("topics")),
            ("partitions", sum(len(t.partitions) for t in topics), None),
            ("groups", len(listed), request.url_for("groups")),
            ("connected clients", len(self.ctx.broker.clients()), request.url_for("clients")),
            ("brokers", len(cluster.brokers), None),
            ("controller", cluster.controller_id, None),
        ]
        return self.pages.render(
            request,
            "overview.html",
            title="Overview",
            section="overview",
            version=kpy.__version__,
            uptime=time.time() - self.ctx.started_at,
            cluster={
                "cluster_id": cluster.cluster_id,
                "controller_id": cluster.controller_id,
                "brokers": sorted(cluster.brokers.values(), key=lambda b: b.node_id),
            },
            stats=stats,
            charts=[{"counter": c, "title": t, "unit": u} for c, t, u in CHARTS],
        )

    async def broker(self, request: Request) -> Response:
        only_set = request.query_params.get("all") != "1"
        node = self.ctx.broker.node_id
        try:
            async with kafka(self.ctx) as client:
                configs = await admin.describe_broker_configs(client, node)
        except ClientError as exc:
            return self.pages.error(request, 409, "Broker configs", str(exc), "/")
        shown = [c for c in configs if not (only_set and c.is_default)]
        toggle = request.url_for("broker").include_query_params(all="1" if only_set else "0")
        return self.pages.render(
            request,
            "broker.html",
            title="Broker configs",
            section="broker",
            node_id=node,
            configs=shown,
            total=len(configs),
            only_set=only_set,
            toggle_url=toggle,
        )

    async def clients(self, request: Request) -> Response:
        now = time.time()
        rows = [
            {
                "connection_id": c.connection_id,
                "client_id": c.client_id if c.client_id is not None else "–",
                "software": software_text(c.software_name, c.software_version),
                "address": c.address,
                "listener": c.listener,
                "connected_for": max(now - c.connected_at, 0.0),
                "requests": c.requests,
            }
            for c in self.ctx.broker.clients()
        ]
        return self.pages.render(
            request, "clients.html", title="Clients", section="clients", clients=rows
        )

    async def rates(self, request: Request) -> Response:
        return JSONResponse(
            {"time": time.monotonic(), "counters": rate_counters(self.ctx.broker)},
            headers={"Cache-Control": "no-store"},
        )

    async def client_counters(self, request: Request) -> Response:
        """Requests so far per connection id: the clients page shows their rates."""
        counters = {c.connection_id: c.requests for c in self.ctx.broker.clients()}
        return JSONResponse(
            {"time": time.monotonic(), "counters": counters}, headers={"Cache-Control": "no-store"}
        )
