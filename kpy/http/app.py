"""The Starlette app of a broker's HTTP server: ``/health``, ``/metrics``, ``/static``, and the
console's pages (kpy.http.console) at ``/``.

Handlers run on the broker's trio run, so they read the Broker directly, as a request handler
does; they must not block (slow work goes to a worker thread).

``/health``: 200 ``{"status": "ready", ...}`` once the broker serves Kafka clients and every
log dir is online; otherwise 503 ``{"status": "not ready", "reasons": [...]}``: while it
starts, or with a log dir offline (Kafka keeps such a broker up; its partitions on that dir
answer KAFKA_STORAGE_ERROR until a restart, which is what a probe should notice). The HTTP
server stops with the broker: a probe during shutdown fails to connect.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

import kpy
from kpy.http import console, metrics

if TYPE_CHECKING:
    from starlette.requests import Request

    from kpy.broker import Broker
    from kpy.server import ServerInfo

STATIC_DIR = Path(__file__).parent / "static"


@dataclass(slots=True)
class HttpContext:
    """What the HTTP handlers know: the broker, where it listens, when it started (wall clock,
    seconds) and whether it serves Kafka clients yet (set by kpy.server)."""

    broker: Broker
    server: ServerInfo
    started_at: float = field(default_factory=time.time)
    ready: bool = False


def health(ctx: HttpContext) -> tuple[int, dict[str, Any]]:
    """(HTTP status, JSON body) of ``/health``."""
    broker = ctx.broker
    reasons = []
    if not ctx.ready:
        reasons.append("starting")
    online = {str(d) for d in broker.logs.online_dirs()}
    reasons += [
        f"log dir {d} is offline" for d in map(str, broker.logs.log_dirs) if d not in online
    ]
    body: dict[str, Any] = {
        "status": "not ready" if reasons else "ready",
        "node_id": broker.node_id,
        "cluster_id": broker.metadata.cluster_id,
        "bootstrap": ctx.server.bootstrap,
        "version": kpy.__version__,
        "uptime_s": round(time.time() - ctx.started_at, 3),
    }
    if reasons:
        body["reasons"] = reasons
    return (503 if reasons else 200), body


def build_app(ctx: HttpContext) -> Starlette:
    """The ASGI app serving ``ctx``'s broker."""

    registry = metrics.registry_for(ctx.broker)

    async def health_endpoint(request: Request) -> JSONResponse:
        status, body = health(ctx)
        return JSONResponse(body, status_code=status)

    async def metrics_endpoint(request: Request) -> Response:
        # On the event loop (an async endpoint): the Broker is read where it runs.
        return Response(metrics.scrape(registry), media_type=metrics.CONTENT_TYPE)

    routes = [
        Route("/health", health_endpoint),
        Route("/metrics", metrics_endpoint),
        Mount("/static", StaticFiles(directory=STATIC_DIR), name="static"),
        *console.routes(ctx),
    ]
    return Starlette(routes=routes)
