"""Listeners: ``listeners``, ``advertised.listeners`` and ``listener.security.protocol.map``
parsed as Kafka parses them (``NAME://host:port``, names upper-cased), and which host a
listener advertises; and kpy's own ``http.listeners`` (``http://host:port``, comma-separated).

Deliberate differences from Kafka (see README): only PLAINTEXT listeners; controller listeners
(``controller.listener.names``) are not served; an empty or wildcard listener host is
advertised as ``localhost`` (Kafka advertises the canonical host name).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from kpy.config_values import ConfigError


@dataclass(frozen=True, slots=True)
class Listener:
    """``NAME://host:port``; an empty host binds every interface, port 0 an ephemeral port."""

    name: str
    host: str
    port: int
    security_protocol: str = "PLAINTEXT"

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.name}://{host}:{self.port}"


_LISTENER = re.compile(r"([A-Za-z0-9_.-]+)://(\[[0-9a-fA-F:.%]*\]|[0-9A-Za-z.%_-]*):([0-9]+)")
WILDCARD_HOSTS = ("0.0.0.0", "::")


def advertised_host(host: str) -> str:
    """The host to tell clients for a listener bound to ``host``: an empty or wildcard host
    (every interface) is advertised as "localhost"."""
    return host if host and host not in WILDCARD_HOSTS else "localhost"


def parse_protocol_map(text: str) -> dict[str, str]:
    """``NAME:PROTOCOL,...`` -> {NAME: PROTOCOL} (names upper-cased like Kafka's)."""
    result = {}
    for item in (x.strip() for x in (text or "").split(",")):
        if not item:
            continue
        name, sep, protocol = item.partition(":")
        if not sep or not name.strip() or not protocol.strip():
            raise ConfigError(
                f"Invalid value {text} for configuration listener.security.protocol.map: "
                f"{item!r} is not NAME:PROTOCOL"
            )
        result[name.strip().upper()] = protocol.strip().upper()
    return result


def parse_listeners(
    text: str | list[str], protocol_map: Mapping[str, str], key: str
) -> list[Listener]:
    """Parse a listeners value; ConfigError for syntax, duplicates or non-PLAINTEXT protocols."""
    entries = text if isinstance(text, list) else [x for x in (text or "").split(",")]
    result: list[Listener] = []
    for entry in (e.strip() for e in entries):
        if not entry:
            continue
        m = _LISTENER.fullmatch(entry)
        if not m or int(m.group(3)) > 65535:
            raise ConfigError(
                f"Invalid value {entry} for configuration {key}: expected NAME://host:port"
            )
        name, host, port = m.group(1).upper(), m.group(2).strip("[]"), int(m.group(3))
        protocol = protocol_map.get(name)
        if protocol is None:
            raise ConfigError(
                f"Invalid value {entry} for configuration {key}: no security protocol defined "
                f"for listener {name} in listener.security.protocol.map"
            )
        if protocol != "PLAINTEXT":
            raise ConfigError(
                f"Invalid value {entry} for configuration {key}: listener {name} uses "
                f"{protocol}; kpy supports PLAINTEXT only"
            )
        if any(other.name == name for other in result):
            raise ConfigError(f"Invalid value {text} for configuration {key}: {name} twice")
        result.append(Listener(name, host, port, protocol))
    return result


def broker_listeners(
    listeners: str | list[str],
    advertised_listeners: str | list[str] | None,
    protocol_map: str,
    controller_names: str | None,
) -> tuple[list[Listener], list[Listener]]:
    """(the listeners to serve, the listeners to advertise) from those four keys' values;
    ConfigError for a port used twice, no broker listener, or an advertised listener that is
    not a listener or names a wildcard address."""
    protocols = parse_protocol_map(protocol_map)
    controllers = {n.strip().upper() for n in (controller_names or "").split(",")} - {""}
    for name in controllers:
        # Kafka maps controller listeners missing from the map to PLAINTEXT.
        protocols.setdefault(name, "PLAINTEXT")
    every = parse_listeners(listeners, protocols, "listeners")
    seen: set[tuple[str, int]] = set()
    for lst in every:
        if lst.port and (lst.host, lst.port) in seen:
            raise ConfigError(
                f"Invalid value {listeners} for configuration listeners: "
                f"port {lst.port} is used twice"
            )
        seen.add((lst.host, lst.port))
    # kpy has no controller protocol, so controller listeners are not opened.
    served = [lst for lst in every if lst.name not in controllers]
    if not served:
        raise ConfigError(
            f"Invalid value {listeners} for configuration listeners: "
            "no broker listener (all are controller.listener.names)"
        )
    if not advertised_listeners:
        return served, served
    advertised = [
        a
        for a in parse_listeners(advertised_listeners, protocols, "advertised.listeners")
        if a.name not in controllers
    ]
    names = {lst.name for lst in every}
    for adv in advertised:
        if adv.name not in names:
            raise ConfigError(
                f"Invalid value {advertised_listeners} for configuration advertised.listeners: listener "
                f"{adv.name} is not in listeners"
            )
        if adv.host in WILDCARD_HOSTS:
            raise ConfigError(
                f"Invalid value {advertised_listeners} for configuration advertised.listeners: cannot "
                f"advertise the non-routable address {adv.host}"
            )
    return served, advertised


_HTTP_LISTENER = re.compile(r"http://(\[[0-9a-fA-F:.%]*\]|[0-9A-Za-z.%_-]*):([0-9]+)/?")


def parse_http_listeners(text: str | None) -> list[tuple[str, int]]:
    """``http.listeners`` -> [(host, port)]: ``http://host:port`` items, comma-separated; an
    empty host binds every interface, port 0 a free port; unset or empty: no HTTP server.
    ConfigError naming the key and the value for anything else (https is not served)."""
    result: list[tuple[str, int]] = []
    for entry in (e.strip() for e in (text or "").split(",")):
        if not entry:
            continue
        m = _HTTP_LISTENER.fullmatch(entry)
        if not m or int(m.group(2)) > 65535:
            raise ConfigError(
                f"Invalid value {text} for configuration http.listeners: {entry!r} is not "
                "http://host:port"
            )
        address = (m.group(1).strip("[]"), int(m.group(2)))
        if address[1] and address in result:
            raise ConfigError(
                f"Invalid value {text} for configuration http.listeners: {entry} twice"
            )
        result.append(address)
    return result
