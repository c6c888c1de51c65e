"""Broker and topic configuration: one table of known keys, server.properties parsing.

Promises:
- Key names, types, defaults and valid ranges are Apache Kafka's (4.0). Every key lives in one
  table below (``TOPIC_KEYS``, ``BROKER_KEYS``); ``KEYS`` merges them for look-ups.
- Topic-level keys list the broker keys that set their default ("synonyms"), highest priority
  first, as Kafka does (``log.retention.ms`` > ``log.retention.minutes`` > ``log.retention.hours``
  for ``retention.ms``), so DescribeConfigs can say where each value came from.
- Keys that only matter to a multi-node Kafka (controller quorum, thread pools, replication of
  internal topics, security plug-ins) are accepted, documented as ignored, and have no effect,
  so Kafka's own sample configs load without warnings. Other unknown keys log one warning.
- Bad values raise ``ConfigError`` naming the key and the value (at start-up), or
  ``KafkaError(INVALID_CONFIG)`` for topic configs sent by clients.
- Dynamic broker configs (AlterConfigs on a broker resource) are accepted and refused as
  Kafka 4.4 does (config_dynamic.py): every key Kafka can change at run time, unknown names and
  listener-prefixed names are kept, per broker or as the cluster default, and persisted.

Deliberate differences from Kafka (see README): only PLAINTEXT listeners; ``node.id`` defaults
to 1 (Kafka requires it); controller listeners (``controller.listener.names``) are not served;
an empty or wildcard listener host is advertised as ``localhost`` (Kafka advertises the
canonical host name); ``cluster.id`` may be set in the config to fix the id of a new data dir.
"""

from __future__ import annotations

import difflib
import logging
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from kpy.config_dynamic import (
    DynamicConfigError,
    base_key,
    check_update,
    synonym_base,
    typed_key,
)
from kpy.config_keys import (  # re-exported: callers import the table from here
    BROKER_KEYS,
    GROUP_OF,
    IGNORED_KEYS,
    IGNORED_PREFIXES,
    INT_RANGES,
    KEYS,
    SOURCE_DEFAULT,
    SOURCE_DYNAMIC_BROKER,
    SOURCE_DYNAMIC_BROKER_LOGGER,
    SOURCE_DYNAMIC_DEFAULT_BROKER,
    SOURCE_DYNAMIC_TOPIC,
    SOURCE_STATIC_BROKER,
    SOURCE_UNKNOWN,
    TOPIC_KEYS,
    TOPIC_SYNONYMS,
    TYPE_IDS,
    Key,
    is_ignored,
    is_sensitive,
)
from kpy.protocol.error_codes import ErrorCode, KafkaError

log = logging.getLogger("kpy.config")

__all__ = [
    "BROKER_KEYS",
    "IGNORED_KEYS",
    "IGNORED_PREFIXES",
    "KEYS",
    "SOURCE_DEFAULT",
    "SOURCE_DYNAMIC_BROKER",
    "SOURCE_DYNAMIC_BROKER_LOGGER",
    "SOURCE_DYNAMIC_DEFAULT_BROKER",
    "SOURCE_DYNAMIC_TOPIC",
    "SOURCE_STATIC_BROKER",
    "SOURCE_UNKNOWN",
    "TOPIC_KEYS",
    "TOPIC_SYNONYMS",
    "TYPE_IDS",
    "Config",
    "ConfigEntry",
    "ConfigError",
    "Key",
    "Listener",
    "format_value",
    "is_ignored",
    "is_sensitive",
    "parse_listeners",
    "parse_properties",
    "parse_protocol_map",
    "parse_value",
    "validate_topic_config",
]


def _check_min_isr(sets: Mapping[str, str], deletes: Iterable[str], *, per_broker: bool) -> None:
    """Kafka 4.4's controller keeps min.insync.replicas cluster-wide while eligible leader
    replicas are on (KIP-966, as kpy's clusters start, see metadata.py): a broker's own value
    is never set or removed, the cluster default never removed (INVALID_CONFIG)."""
    name = "min.insync.replicas"
    if per_broker and (name in sets or name in deletes):
        raise KafkaError(
            ErrorCode.INVALID_CONFIG,
            "Broker-level min.insync.replicas cannot be altered while ELR is enabled.",
        )
    if not per_broker and name in deletes and name not in sets:
        raise KafkaError(
            ErrorCode.INVALID_CONFIG,
            "Cluster-level min.insync.replicas cannot be removed while ELR is enabled.",
        )


class ConfigError(ValueError):
    """A configuration value that cannot be used; the message names the key and value."""


# -- values -------------------------------------------------------------------------------


def parse_value(key: Key, raw: Any) -> Any:
    """Convert a string (or an already typed value) to ``key``'s type and validate it.

    Raises ConfigError("Invalid value <raw> for configuration <name>: <why>")."""
    if raw is None:
        return None
    try:
        value = _convert(key.type, raw)
    except ValueError as exc:
        raise ConfigError(f"Invalid value {raw} for configuration {key.name}: {exc}") from None
    if key.type == "list" and key.validator is not None and "" in value:
        # "a,,b" or a trailing comma: Kafka refuses the empty item before any other check.
        raise ConfigError(f"Configuration '{key.name}' values must not be empty.")
    if key.validator is not None:
        problem = key.validator(value)
        if problem:
            # Kafka names the parsed value here (2.0 for a double given as "2").
            shown = _java_double(value) if isinstance(value, float) else raw
            raise ConfigError(f"Invalid value {shown} for configuration {key.name}: {problem}")
    return value


def _convert(type_: str, raw: Any) -> Any:
    if type_ == "boolean":
        if isinstance(raw, bool):
            return raw
        text = str(raw).strip().lower()
        if text not in ("true", "false"):
            raise ValueError("Expected value to be either true or false")
        return text == "true"
    if type_ in INT_RANGES:
        if isinstance(raw, bool):
            raise ValueError(f"Not a number of type {type_.upper()}")
        text = str(raw).strip()
        if not re.fullmatch(r"[+-]?[0-9]+", text):
            raise ValueError(f"Not a number of type {type_.upper()}")
        value = int(text)
        lo, hi = INT_RANGES[type_]
        if not lo <= value <= hi:
            raise ValueError(f"Not a number of type {type_.upper()}")
        return value
    if type_ == "double":
        text = str(raw).strip()
        if not re.fullmatch(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?", text):
            raise ValueError("Not a number of type DOUBLE")
        return float(text)
    if type_ == "list":
        if isinstance(raw, list | tuple):
            return [str(x).strip() for x in raw]
        text = str(raw).strip()
        return [x.strip() for x in text.split(",")] if text else []
    return str(raw).strip()


def format_value(value: Any) -> str | None:
    """A typed value as Kafka shows it in DescribeConfigs."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return ",".join(str(x) for x in value)
    if isinstance(value, float):
        return _java_double(value)
    return str(value)


def _java_double(x: float) -> str:
    """Java's Double.toString: plain between 10^-3 and 10^7, else ``1.0E-4`` style."""
    if x != x or x in (float("inf"), float("-inf")):
        return "NaN" if x != x else ("Infinity" if x > 0 else "-Infinity")
    if x == 0 or 1e-3 <= abs(x) < 1e7:
        return repr(x)
    sign, digits, exp = Decimal(repr(x)).normalize().as_tuple()
    assert isinstance(exp, int)
    text = "".join(map(str, digits))
    return f"{'-' if sign else ''}{text[0]}.{text[1:] or '0'}E{len(text) - 1 + exp}"


# -- server.properties ----------------------------------------------------------------------


def parse_properties(text: str) -> dict[str, str]:
    """Parse Java ``.properties`` text as ``java.util.Properties.load`` does.

    Comment lines start with ``#`` or ``!``; key and value are separated by ``=``, ``:`` or
    white space; a line ending in an odd number of backslashes continues on the next one
    (whose leading white space is dropped); ``\\t \\n \\r \\f \\uXXXX`` escapes are decoded
    and any other escaped character stands for itself. Later keys replace earlier ones."""
    props: dict[str, str] = {}
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i].lstrip(" \t\f")
        i += 1
        if not line or line[0] in "#!":
            continue
        while _continues(line):
            line = line[:-1]
            if i >= len(lines):
                break
            line += lines[i].lstrip(" \t\f")
            i += 1
        key, value = _split_property(line)
        props[_unescape(key)] = _unescape(value)
    return props


def _continues(line: str) -> bool:
    return (len(line) - len(line.rstrip("\\"))) % 2 == 1


def _split_property(line: str) -> tuple[str, str]:
    i, n = 0, len(line)
    while i < n and line[i] not in "=: \t\f":
        i += 2 if line[i] == "\\" else 1
    i = min(i, n)
    j = i
    while j < n and line[j] in " \t\f":
        j += 1
    if j < n and line[j] in "=:":
        j += 1
        while j < n and line[j] in " \t\f":
            j += 1
    return line[:i], line[j:]


_ESCAPES = {"t": "\t", "n": "\n", "r": "\r", "f": "\f"}


def _unescape(s: str) -> str:
    if "\\" not in s:
        return s

    def repl(m: re.Match[str]) -> str:
        c = m.group(1)
        if len(c) == 5:
            return chr(int(c[1:], 16))
        return _ESCAPES.get(c, c)

    return re.sub(r"\\(u[0-9a-fA-F]{4}|.|$)", repl, s)


# -- listeners ------------------------------------------------------------------------------


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
_WILDCARDS = ("0.0.0.0", "::")


def advertised_host(host: str) -> str:
    """The host to tell clients for a listener bound to ``host``: an empty or wildcard host
    (every interface) is advertised as "localhost"."""
    return host if host and host not in _WILDCARDS else "localhost"


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


# -- effective configuration ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ConfigEntry:
    """One row of a DescribeConfigs answer (value None when unset or sensitive)."""

    name: str
    value: str | None
    source: int
    read_only: bool
    sensitive: bool
    type: int
    synonyms: list[tuple[str, str | None, int]] = field(default_factory=list)

    @property
    def is_default(self) -> bool:
        return self.source == SOURCE_DEFAULT


_LAYERS = ("_dynamic", "_dynamic_default", "_static")
_LAYER_SOURCES = (SOURCE_DYNAMIC_BROKER, SOURCE_DYNAMIC_DEFAULT_BROKER, SOURCE_STATIC_BROKER)


def _hint(name: str) -> str:
    """' (did you mean KEY?)' for the known broker key closest to a mistyped one, else ''."""
    by_lower = {known.lower(): known for known in BROKER_KEYS}
    match = by_lower.get(name.lower())
    if match is None:
        close = difflib.get_close_matches(name.lower(), by_lower, n=1, cutoff=0.8)
        match = by_lower[close[0]] if close else None
    return f" (did you mean {match}?)" if match else ""


class Config:
    """The broker's configuration, in Kafka's layers, highest priority first: dynamic
    per-broker values (AlterConfigs on this broker's id), dynamic cluster defaults
    (AlterConfigs on the empty broker name), static values (server.properties and
    ``--override``), Kafka's defaults. Topic overrides sit above all of these and are kept by
    the metadata layer; this class turns them into effective topic configs.

    ``generation`` grows with every dynamic change, so callers may cache derived values."""

    def __init__(self, values: Mapping[str, Any] | None = None) -> None:
        self._static: dict[str, Any] = {}
        # Dynamic layers: every name as the string given (``_text``, what is persisted and
        # listed as a synonym, as Kafka does) and the table's keys typed as well.
        self._dynamic: dict[str, Any] = {}
        self._dynamic_default: dict[str, Any] = {}
        self._dynamic_text: dict[str, str] = {}
        self._dynamic_default_text: dict[str, str] = {}
        self.ignored: dict[str, Any] = {}  # accepted keys without effect, for the record
        for name, raw in (values or {}).items():
            key = BROKER_KEYS.get(name)
            if is_ignored(name):
                self.ignored[name] = raw
            elif key is None:
                # Without its value: an unknown key may be a misspelt password.
                log.warning("unknown config %r is ignored%s", name, _hint(name))
            if key is not None and key.described:
                # Keys without effect that Kafka defines are checked and described all the same.
                self._static[name] = parse_value(key, raw)
        self._check_identity()
        self._listeners, self._advertised = self._parse_listeners()
        self.generation = 0
        self._topic_defaults = self._compute_topic_defaults()

    @classmethod
    def from_file(
        cls, path: str | Path | None, overrides: Mapping[str, Any] | None = None
    ) -> Config:
        """server.properties (if given) with ``overrides`` on top (like ``--override``)."""
        values: dict[str, Any] = {}
        if path is not None:
            try:
                text = Path(path).read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise ConfigError(f"cannot read config file {path}: {exc}") from exc
            values.update(parse_properties(text))
        values.update(overrides or {})
        return cls(values)

    # -- broker keys ---------------------------------------------------------------------------

    def _lookup(self, name: str) -> tuple[Any, int] | None:
        for attr, source in zip(_LAYERS, _LAYER_SOURCES):
            layer = getattr(self, attr)
            if name in layer:
                return layer[name], source
        return None

    def get(self, name: str) -> Any:
        """The effective value of a broker key (or the broker default of a topic key)."""
        found = self._lookup(name)
        if found is not None:
            value = found[0]
        elif name in BROKER_KEYS:
            value = BROKER_KEYS[name].default
        elif name in TOPIC_KEYS:
            value = self._topic_defaults[name]
        else:
            raise KeyError(name)
        return list(value) if isinstance(value, list) else value

    def is_set(self, name: str) -> bool:
        return self._lookup(name) is not None

    def node_id(self) -> int:
        """node.id, else broker.id, else 1 (Kafka requires one; a lone broker can pick)."""
        for name in ("node.id", "broker.id"):
            value = self.get(name)
            if value >= 0:
                return value
        return 1

    def log_dirs(self) -> list[str]:
        """log.dirs if set, else log.dir (Kafka's rule)."""
        dirs = self.get("log.dirs") or self.get("log.dir")
        return [d.strip() for d in dirs.split(",") if d.strip()]

    def _check_identity(self) -> None:
        node, broker = self.get("node.id"), self.get("broker.id")
        if node >= 0 and broker >= 0 and node != broker:
            raise ConfigError(
                f"Invalid value {broker} for configuration broker.id: must equal node.id ({node})"
            )
        cluster_id = self.get("cluster.id")
        if cluster_id is not None and not re.fullmatch(r"[A-Za-z0-9_-]{22}", cluster_id):
            raise ConfigError(
                f"Invalid value {cluster_id} for configuration cluster.id: expected 22 "
                "characters of URL-safe base64 (a UUID, as kafka-storage random-uuid prints)"
            )
        dirs = self.log_dirs()
        if not dirs:
            raise ConfigError("Invalid value for configuration log.dirs: no directory given")
        if len(set(dirs)) != len(dirs):
            raise ConfigError(
                f"Invalid value {','.join(dirs)} for configuration log.dirs: duplicate"
            )

    # -- listeners -----------------------------------------------------------------------------

    def _parse_listeners(self) -> tuple[list[Listener], list[Listener]]:
        protocols = parse_protocol_map(self.get("listener.security.protocol.map"))
        controllers = {
            n.strip().upper() for n in (self.get("controller.listener.names") or "").split(",")
        } - {""}
        for name in controllers:
            # Kafka maps controller listeners missing from the map to PLAINTEXT.
            protocols.setdefault(name, "PLAINTEXT")
        every = parse_listeners(self.get("listeners"), protocols, "listeners")
        seen: set[tuple[str, int]] = set()
        for lst in every:
            if lst.port and (lst.host, lst.port) in seen:
                raise ConfigError(
                    f"Invalid value {self.get('listeners')} for configuration listeners: "
                    f"port {lst.port} is used twice"
                )
            seen.add((lst.host, lst.port))
        # kpy has no controller protocol, so controller listeners are not opened.
        served = [lst for lst in every if lst.name not in controllers]
        if not served:
            raise ConfigError(
                f"Invalid value {self.get('listeners')} for configuration listeners: "
                "no broker listener (all are controller.listener.names)"
            )
        raw_adv = self.get("advertised.listeners")
        if not raw_adv:
            return served, served
        advertised = [
            a
            for a in parse_listeners(raw_adv, protocols, "advertised.listeners")
            if a.name not in controllers
        ]
        names = {lst.name for lst in every}
        for adv in advertised:
            if adv.name not in names:
                raise ConfigError(
                    f"Invalid value {raw_adv} for configuration advertised.listeners: listener "
                    f"{adv.name} is not in listeners"
                )
            if adv.host in _WILDCARDS:
                raise ConfigError(
                    f"Invalid value {raw_adv} for configuration advertised.listeners: cannot "
                    f"advertise the non-routable address {adv.host}"
                )
        return served, advertised

    def listeners(self) -> list[Listener]:
        """The listeners to bind (controller listeners excluded)."""
        return list(self._listeners)

    def advertised_listeners(self) -> list[Listener]:
        """advertised.listeners, or the listeners themselves when it is not set."""
        return list(self._advertised)

    def advertised_address(self, listener: str, bound_port: int = 0) -> tuple[str, int] | None:
        """(host, port) to advertise to clients that connected through ``listener``.

        An empty or wildcard host becomes "localhost" and port 0 becomes ``bound_port`` (the
        port the listener actually got). None if ``listener`` is not advertised."""
        for adv in self._advertised:
            if adv.name == listener.upper():
                return advertised_host(adv.host), adv.port or bound_port
        return None

    # -- dynamic broker configs (AlterConfigs / IncrementalAlterConfigs) -------------------------

    def alter_dynamic(
        self,
        sets: Mapping[str, str],
        deletes: Iterable[str] = (),
        *,
        per_broker: bool = True,
        replace: bool = False,
        validate_only: bool = False,
    ) -> None:
        """Change one dynamic layer: this broker's (``per_broker``, source
        DYNAMIC_BROKER_CONFIG) or the cluster default (empty resource name). ``sets`` are
        checked as Kafka checks them (KafkaError INVALID_REQUEST naming the keys) and applied
        together, after ``deletes``; ``replace`` first empties the layer (AlterConfigs)."""
        if replace:
            deletes = [*self.dynamic_names(per_broker=per_broker), *deletes]
        try:
            parsed = check_update(self, sets, deletes, per_broker=per_broker)
        except DynamicConfigError as exc:
            raise KafkaError(ErrorCode.INVALID_REQUEST, str(exc)) from None
        _check_min_isr(sets, deletes, per_broker=per_broker)
        if validate_only:
            return
        typed, text = self._layers(per_broker)
        for name in (*deletes, *parsed):
            typed.pop(name, None)
            text.pop(name, None)
        for name, value in parsed.items():
            text[name] = sets[name]
            if typed_key(name) is not None:
                typed[name] = value
        self._changed()

    def _layers(self, per_broker: bool) -> tuple[dict[str, Any], dict[str, str]]:
        """(typed values of the table's keys, every name's string as given) of one layer."""
        if per_broker:
            return self._dynamic, self._dynamic_text
        return self._dynamic_default, self._dynamic_default_text

    def set_dynamic(self, name: str, raw: Any, *, per_broker: bool = True) -> None:
        """Set (or, with ``raw`` None, remove) one dynamic broker value."""
        if raw is None:
            self.alter_dynamic({}, [name], per_broker=per_broker)
        else:
            self.alter_dynamic({name: raw}, per_broker=per_broker)

    def replace_dynamic(self, values: Mapping[str, Any], *, per_broker: bool = True) -> None:
        """AlterConfigs semantics: the layer becomes exactly ``values`` (all checked first)."""
        self.alter_dynamic(values, per_broker=per_broker, replace=True)

    def layer_value(self, name: str, *, per_broker: bool = True) -> Any:
        """The value of broker key ``name`` as one dynamic layer sees it (its own value, else
        the layers below it, else Kafka's default): where APPEND and SUBTRACT start."""
        for attr in _LAYERS if per_broker else _LAYERS[1:]:
            layer = getattr(self, attr)
            if name in layer:
                return layer[name]
        return BROKER_KEYS[name].default

    def dynamic_value(self, name: str, *, per_broker: bool = True) -> str | None:
        """The string a dynamic layer holds for ``name`` as it was given (None if none)."""
        return self._layers(per_broker)[1].get(name)

    def dynamic_names(self, *, per_broker: bool = True) -> list[str]:
        """The names one dynamic layer holds."""
        return list(self._layers(per_broker)[1])

    def dynamic_configs(self) -> dict[str, dict[str, str]]:
        """The dynamic layers as given, for persisting: {"broker": ..., "default": ...}."""
        return {
            "broker": dict(self._dynamic_text),
            "default": dict(self._dynamic_default_text),
        }

    def load_dynamic(self, stored: Mapping[str, Mapping[str, Any]]) -> None:
        """Restore what ``dynamic_configs`` returned; a value that no longer parses is logged
        and skipped (the broker must start even if a key's range tightened)."""
        for part, per_broker in (("broker", True), ("default", False)):
            typed, text = self._layers(per_broker)
            typed.clear()
            text.clear()
            for name, value in (stored.get(part) or {}).items():
                key = typed_key(name)
                try:
                    if key is not None:
                        typed[name] = parse_value(key, value)
                except ConfigError as exc:
                    log.warning("dropping stored dynamic config %s: %s", name, exc)
                    continue
                text[name] = str(value)
        self._changed()

    def _changed(self) -> None:
        self._topic_defaults = self._compute_topic_defaults()
        self.generation += 1

    # -- topic-level configuration ---------------------------------------------------------------

    def _topic_default(self, name: str) -> Any:
        key = TOPIC_KEYS[name]
        for syn in key.synonyms:  # the first synonym set anywhere wins
            found = self._lookup(syn)
            if found is not None and found[0] is not None:
                return self._in_topic_unit(name, syn, found[0])
        for syn in key.synonyms:  # else the first synonym with a default of its own
            default = BROKER_KEYS[syn].default
            if default is not None:
                return self._in_topic_unit(name, syn, default)
        return key.default

    @staticmethod
    def _in_topic_unit(name: str, syn: str, value: Any) -> Any:
        unit = BROKER_KEYS[syn].unit
        if unit != 1:
            value *= unit
        if name == "retention.ms" and value < 0:
            return -1  # any negative retention means "forever", shown as -1 like Kafka
        return value

    def _compute_topic_defaults(self) -> dict[str, Any]:
        return {name: self._topic_default(name) for name in TOPIC_KEYS}

    def topic_defaults(self) -> dict[str, Any]:
        """Every topic key's value for a topic without overrides."""
        return self.topic_config({})

    def topic_config(self, overrides: Mapping[str, Any]) -> dict[str, Any]:
        """The effective, typed config of a topic with ``overrides`` (Kafka names -> values).
        Overrides were validated when they came in; a stored one that no longer parses (an
        older kpy, a tightened range) is logged and replaced by the default, so a broker with
        such a topic still starts."""
        config = {k: list(v) if isinstance(v, list) else v for k, v in self._topic_defaults.items()}
        for name, raw in overrides.items():
            key = TOPIC_KEYS.get(name)
            if key is not None and raw is not None:
                try:
                    config[name] = parse_value(key, raw)
                except ConfigError as exc:
                    log.warning("topic override ignored: %s", exc)
        return config

    effective_topic_config = topic_config

    def _synonym_entries(
        self, names: tuple[str, ...], start: str | None = None
    ) -> list[tuple[str, str | None, int]]:
        """Kafka's synonym list: dynamic per-broker values of all ``names``, then dynamic
        defaults, then static values, then Kafka's defaults; dropped up to ``start`` (all of
        them when ``start`` has no value anywhere), as Kafka does."""
        entries: list[tuple[str, str | None, int]] = []
        for attr, source in zip(_LAYERS, _LAYER_SOURCES):
            layer, text = getattr(self, attr), getattr(self, attr + "_text", None)
            for n in names:
                if text is not None and n in text:
                    entries.append((n, self._shown_text(n, text[n]), source))
                elif n in layer:
                    entries.append((n, self._shown(n, layer[n]), source))
        for n in names:
            default = BROKER_KEYS[n].default if n in BROKER_KEYS else None
            if default is not None:
                entries.append((n, self._shown(n, default), SOURCE_DEFAULT))
        if start is not None:
            while entries and entries[0][0] != start:
                entries.pop(0)
        return entries

    @staticmethod
    def _shown(name: str, value: Any) -> str | None:
        key = KEYS.get(name)
        return None if key is not None and is_sensitive(key) else format_value(value)

    @staticmethod
    def _shown_text(name: str, text: str) -> str | None:
        """A dynamic value as given; hidden when its key (or the key under its listener
        prefix) is a password or unknown (it might be one), as Kafka does."""
        key = base_key(name)
        return None if key is None or is_sensitive(key) else text

    def describe_topic_config(self, overrides: Mapping[str, Any]) -> Iterator[ConfigEntry]:
        """DescribeConfigs rows of a topic with ``overrides``: every topic key, by name."""
        config = self.topic_config(overrides)
        for name in sorted(TOPIC_KEYS):
            key = TOPIC_KEYS[name]
            shown = None if is_sensitive(key) else format_value(config[name])
            synonyms = self._synonym_entries(key.synonyms, start=(*key.synonyms, None)[0])
            if overrides.get(name) is not None:
                synonyms.insert(0, (name, shown, SOURCE_DYNAMIC_TOPIC))
            source = synonyms[0][2] if synonyms else SOURCE_DEFAULT
            yield ConfigEntry(
                name, shown, source, False, is_sensitive(key), TYPE_IDS[key.type], synonyms
            )

    def describe_broker_config(self, *, per_broker: bool = True) -> Iterator[ConfigEntry]:
        """DescribeConfigs rows of a broker resource, by name. For this broker's id: every
        broker key kpy defines and every other name set dynamically. For the cluster default
        (empty name): what is set at that level only, as Kafka answers."""
        if not per_broker:
            typed, text = self._layers(False)
            for name in sorted(text):
                entry = self._key_entry(name) if name in typed else self._other_entry(name)
                synonyms = [s for s in entry.synonyms if s[2] == SOURCE_DYNAMIC_DEFAULT_BROKER]
                yield ConfigEntry(
                    name,
                    synonyms[0][1],
                    SOURCE_DYNAMIC_DEFAULT_BROKER,
                    entry.read_only,
                    entry.sensitive,
                    entry.type,
                    synonyms,
                )
            return
        others = {n for n in (*self._dynamic_text, *self._dynamic_default_text) if not typed_key(n)}
        for name in sorted({*(n for n, k in BROKER_KEYS.items() if k.described), *others}):
            yield self._other_entry(name) if name in others else self._key_entry(name)

    def _key_entry(self, name: str) -> ConfigEntry:
        key = BROKER_KEYS[name]
        value = self.node_id() if name in ("node.id", "broker.id") else self.get(name)
        synonyms = self._synonym_entries(GROUP_OF.get(name, (name,)), start=name)
        source = synonyms[0][2] if synonyms else SOURCE_DEFAULT
        return ConfigEntry(
            name,
            self._shown(name, value),
            source,
            key.read_only,
            is_sensitive(key),
            TYPE_IDS[key.type],
            synonyms,
        )

    def _other_entry(self, name: str) -> ConfigEntry:
        """A name Kafka does not know, or a listener-prefixed one: read-only, typed (and
        shown) as its base key, followed by that key's synonyms."""
        key = base_key(name)
        base = synonym_base(name)
        names = (name, base) if base is not None and base in BROKER_KEYS else (name,)
        synonyms = [  # the name itself only has dynamic values (kpy's own keys included)
            s
            for s in self._synonym_entries(names)
            if s[0] != name or s[2] in (SOURCE_DYNAMIC_BROKER, SOURCE_DYNAMIC_DEFAULT_BROKER)
        ]
        return ConfigEntry(
            name,
            synonyms[0][1],
            synonyms[0][2],
            True,
            key is None or is_sensitive(key),
            TYPE_IDS[key.type] if key is not None else 0,
            synonyms,
        )


def validate_topic_config(
    configs: Mapping[str, Any], defaults: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """Check topic overrides as CreateTopics / AlterConfigs receive them; returns them typed.

    KafkaError(INVALID_CONFIG) names the bad key or value. ``defaults`` (an effective topic
    config, e.g. ``Config.topic_defaults()``) enables the checks across keys."""
    parsed: dict[str, Any] = {}
    for name, raw in configs.items():
        key = TOPIC_KEYS.get(name)
        if key is None:
            raise KafkaError(ErrorCode.INVALID_CONFIG, f"Unknown topic config name: {name}")
        if raw is None:
            raise KafkaError(
                ErrorCode.INVALID_CONFIG, f"Null value not supported for topic configs: {name}"
            )
        try:
            parsed[name] = parse_value(key, raw)
        except ConfigError as exc:
            raise KafkaError(ErrorCode.INVALID_CONFIG, str(exc)) from None
    if parsed.get("remote.storage.enable"):
        raise KafkaError(
            ErrorCode.INVALID_CONFIG,
            "Tiered storage is not supported by kpy: remote.storage.enable must be false",
        )
    effective = {**(defaults or {}), **parsed}
    lo, hi = effective.get("min.compaction.lag.ms"), effective.get("max.compaction.lag.ms")
    if (
        lo is not None
        and hi is not None
        and lo > hi
        and ("min.compaction.lag.ms" in parsed or "max.compaction.lag.ms" in parsed)
    ):
        raise KafkaError(
            ErrorCode.INVALID_CONFIG,
            f"conflict topic config setting min.compaction.lag.ms ({lo}) > "
            f"max.compaction.lag.ms ({hi})",
        )
    return parsed
