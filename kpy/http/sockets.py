"""The HTTP server's listening sockets, bound at start-up beside the Kafka listeners, without
loading the HTTP stack (hypercorn, Starlette), which the broker imports only after it is
ready for Kafka clients."""

from __future__ import annotations

import socket

from kpy.config_listeners import advertised_host

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
