"""The HTTP server: sockets bound at start-up, an ASGI app served by hypercorn's trio worker.

The ``http.listeners`` sockets are bound before the broker reads its data (kpy.http.sockets,
which kpy.server calls beside the Kafka listeners), so a port in use stops start-up with one
line. ``serve_http`` serves an ASGI app on them in the caller's nursery until cancelled: the broker's
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

from kpy.http.sockets import url
from kpy.log_limiter import LogLimiter

log = logging.getLogger("kpy.http")
_repeats = LogLimiter(log)  # hypercorn's warnings and errors, per message


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
