"""The Starlette app of a broker's HTTP server: ``/health``, ``/metrics``, ``/static``, and the
console's pages (kpy.http.console) at ``/``.

Handlers run on the broker's trio run, so they read the Broker directly, as a request handler
does; they must not block (slow work goes to a worker thread).

``/health``: 200 ``{"status": "ready", ...}`` once the broker serves Kafka clients and every
log dir is online; otherwise 503 ``{"status": "not ready", "reasons": [...]}``: while it
starts, or with a log dir offline (Kafka keeps such a broker up; its partitions on that dir
answer KAFKA_STORAGE_ERROR until a restart, which is what a probe should notice). The HTTP
server stops with the broker: a probe during shutdown fails to connect.

On a loopback address every request must name a loopback host (``localhost``, ``127.0.0.1``,
``[::1]``, with any port) in its Host header, or it gets 403: the console has no login, and
without this a web page could reach it through DNS rebinding (its own name resolved to
127.0.0.1 a second time, so the browser treats the console as that page's origin). A proxy in
front of a loopback listener must therefore pass a loopback Host (nginx's default does).
"""

from __future__ import annotations

import ipaddress
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.responses import JSONResponse, PlainTextResponse, Response
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


def _is_loopback(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def host_allowed(server_host: str | None, host_header: str | None) -> bool:
    """Whether a request that reached ``server_host`` (the local address of its connection)
    naming ``host_header`` is served: always on an address other than loopback; on loopback
    only with a loopback name or address (or no Host header: no browser sends none)."""
    if server_host is None or host_header is None or not _is_loopback(server_host):
        return True
    name = host_header.rsplit(":", 1)[0] if not host_header.endswith("]") else host_header
    return _is_loopback(name.strip("[]").lower())


class LoopbackHosts:
    """ASGI middleware: ``host_allowed`` for every HTTP request, 403 otherwise."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            server = scope.get("server")
            host = next((v for k, v in scope["headers"] if k == b"host"), None)
            if not host_allowed(
                server[0] if server else None, host.decode("latin-1") if host else None
            ):
                refused = PlainTextResponse(
                    "This address serves only requests for a loopback host (localhost).\n",
                    status_code=403,
                )
                await refused(scope, receive, send)
                return
        await self.app(scope, receive, send)


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
    return Starlette(routes=routes, middleware=[Middleware(LoopbackHosts)])
