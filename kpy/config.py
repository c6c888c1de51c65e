"""Broker and topic configuration: the effective values of Kafka's config layers.

The config modules, by responsibility:
- config_keys.py: the table of known keys (names, types, defaults and valid ranges are Apache
  Kafka's), which keys are ignored, which are sensitive, which AlterConfigs may change;
- config_values.py: a value parsed, checked and shown as Kafka does; topic overrides checked;
- config_properties.py: server.properties text;
- config_listeners.py: listeners and what they advertise; kpy's ``http.listeners``;
- config_dynamic.py: what AlterConfigs accepts on a broker resource;
- this module: ``Config``, the layers (dynamic per-broker, dynamic cluster default, static,
  Kafka's defaults), topic configs derived from them, and DescribeConfigs rows. Every name the
  other modules define that callers need is importable from here.

Promises:
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

Deliberate differences from Kafka (see README): ``node.id`` defaults to 1 (Kafka requires it);
``cluster.id`` may be set in the config to fix the id of a new data dir; listeners: see
config_listeners.py.
"""

from __future__ import annotations

import difflib
import logging
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kpy.config_dynamic import (
    DynamicConfigError,
    base_key,
    check_min_isr,
    check_update,
    synonym_base,
    typed_key,
)
from kpy.config_keys import (  # re-exported: callers import the table from here
    BROKER_KEYS,
    GROUP_OF,
    IGNORED_KEYS,
    IGNORED_PREFIXES,
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
from kpy.config_listeners import (  # re-exported
    Listener,
    advertised_host,
    broker_listeners,
    parse_http_listeners,
    parse_listeners,
    parse_protocol_map,
)
from kpy.config_properties import parse_properties  # re-exported
from kpy.config_values import (  # re-exported
    ConfigError,
    format_value,
    parse_value,
    validate_topic_config,
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
    "advertised_host",
    "format_value",
    "is_ignored",
    "is_sensitive",
    "parse_http_listeners",
    "parse_listeners",
    "parse_properties",
    "parse_protocol_map",
    "parse_value",
    "validate_topic_config",
]


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
        self._listeners, self._advertised = broker_listeners(
            self.get("listeners"),
            self.get("advertised.listeners"),
            self.get("listener.security.protocol.map"),
            self.get("controller.listener.names"),
        )
        self._http_listeners = parse_http_listeners(self.get("http.listeners"))
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

    def listeners(self) -> list[Listener]:
        """The listeners to bind (controller listeners excluded)."""
        return list(self._listeners)

    def http_listeners(self) -> list[tuple[str, int]]:
        """(host, port) of each ``http.listeners`` address; empty when HTTP is off."""
        return list(self._http_listeners)

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
        check_min_isr(sets, deletes, per_broker=per_broker)
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
