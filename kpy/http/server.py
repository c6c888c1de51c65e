"""The HTTP server: sockets bound at start-up, an ASGI app served by hypercorn's trio worker.

``bind`` opens the ``http.listeners`` sockets before the broker reads its data (kpy.server
calls it beside the Kafka listeners), so a port in use stops start-up with one line.
``serve_http`` serves an ASGI app on them in the caller's nursery until cancelled: the broker's
shutdown cancels it with everything else. Readiness is ``task_status.started(urls)``.

Hypercorn writes its access lines and its "Running on ..." notices at INFO; here they go to
the ``kpy.http`` logger at DEBUG, while its warnings and errors keep their level, rate-limited
(kpy.log_limiter) as an HTTP client can cause them on every request.
"""

from __future__ import annotations

import logging
import socket
from typing import Any

import trio
from hypercorn.config import Config as HypercornConfig
from hypercorn.config import Sockets
from hypercorn.logging import Logger as HypercornLogger
from hypercorn.trio.run import worker_serve
from hypercorn.utils import wrap_app

from kpy.config_listeners import advertised_host
from kpy.log_limiter import LogLimiter

log = logging.getLogger("kpy.http")
_repeats = LogLimiter(log)  # hypercorn's warnings and errors, per message

BACKLOG = 128


def bind(addresses: list[tuple[str, int]]) -> list[socket.socket]:
    """Listening, non-blocking sockets for (host, port) pairs (port 0: a free port; empty
    host: every interface). On failure nothing stays open and the OSError is raised with the
    address in ``filename`` (host:port)."""
    opened: list[socket.socket] = []
    try:
        for host, port in addresses:
            try:
                opened.append(_listen(host, port))
            except OSError as exc:
                exc.filename = f"{host or '0.0.0.0'}:{port}"
                raise
    except BaseException:
        for sock in opened:
            sock.close()
        raise
    return opened


def _listen(host: str, port: int) -> socket.socket:
    if not host:
        if socket.has_dualstack_ipv6():
            sock = socket.create_server(
                ("", port), family=socket.AF_INET6, backlog=BACKLOG, dualstack_ipv6=True
            )
        else:
            sock = socket.create_server(("", port), backlog=BACKLOG)
    else:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        sock = socket.create_server((host, port), family=family, backlog=BACKLOG)
    sock.setblocking(False)
    return sock


def url(sock: socket.socket) -> str:
    """``http://host:port`` to reach a bound socket (a wildcard address as localhost)."""
    host, port = sock.getsockname()[:2]
    shown = advertised_host("" if host in ("::", "0.0.0.0") else host)
    return f"http://[{shown}]:{port}" if ":" in shown else f"http://{shown}:{port}"


class _Log(HypercornLogger):
    """Hypercorn's log calls on ``kpy.http``: access lines and notices at DEBUG."""

    async def access(self, request: Any, response: Any, request_time: float) -> None:
        if log.isEnabledFor(logging.DEBUG):
            client = request.get("client") or ("?", 0)
            log.debug(
                "%s:%s %s %s -> %s in %.1f ms",
                client[0],
                client[1],
                request.get("method", "WS"),
                request.get("path"),
                response.get("status") if response else "-",
                request_time * 1000,
            )

    async def info(self, message: str, *args: Any, **kwargs: Any) -> None:
        log.debug(message, *args, **kwargs)

    async def warning(self, message: str, *args: Any, **kwargs: Any) -> None:
        _repeats.log(logging.WARNING, (logging.WARNING, message), message, *args)

    async def error(self, message: str, *args: Any, **kwargs: Any) -> None:
        _repeats.log(logging.ERROR, (logging.ERROR, message), message, *args)

    async def critical(self, message: str, *args: Any, **kwargs: Any) -> None:
        _repeats.log(logging.CRITICAL, (logging.CRITICAL, message), message, *args)

    async def exception(self, message: str, *args: Any, **kwargs: Any) -> None:
        _repeats.log(logging.ERROR, (logging.ERROR, message), message, *args, exc_info=True)


def _config() -> HypercornConfig:
    config = HypercornConfig()
    config.accesslog = None
    config.errorlog = log
    config.logger_class = _Log
    config.include_server_header = False
    # The broker's shutdown is bounded (kpy.server): open HTTP requests get no grace period.
    config.graceful_timeout = 0.0
    return config


async def serve_http(
    app: Any, sockets: list[socket.socket], *, task_status=trio.TASK_STATUS_IGNORED
) -> None:
    """Serve ``app`` on ``sockets`` (from ``bind``) until cancelled; ``task_status.started``
    gets the URLs served. The sockets are closed on the way out."""
    try:
        # hypercorn.trio.serve binds its own sockets from config.bind; worker_serve (what it
        # calls) takes bound ones, so binding stays with the broker's start-up.
        await worker_serve(
            wrap_app(app, 0, "asgi"),
            _config(),
            sockets=Sockets(secure_sockets=[], insecure_sockets=sockets, quic_sockets=[]),
            task_status=_Started(task_status, [url(s) for s in sockets]),
        )
    finally:
        for sock in sockets:
            sock.close()


class _Started:
    """Hands on ``started`` with kpy's URLs instead of hypercorn's bind strings."""

    def __init__(self, task_status: Any, urls: list[str]) -> None:
        self._task_status, self._urls = task_status, urls

    def started(self, value: Any = None) -> None:
        self._task_status.started(self._urls)
