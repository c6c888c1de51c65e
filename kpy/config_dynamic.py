"""Dynamic broker configs: what AlterConfigs and IncrementalAlterConfigs accept on a broker
resource, checked as Apache Kafka 4.4 checks it (its DynamicBrokerConfig.validateConfigs, then
the checks of the components the keys reconfigure), in Kafka's order:

1. names of Kafka's static broker keys are refused ("Cannot update these configs dynamically");
2. TLS key and trust store keys only with a listener prefix (``listener.name.<l>.<key>``);
3. each value must parse as its key's type and range (a listener-prefixed name as its base key);
4. per-broker keys (TLS, SASL, listeners, ...) are refused as the cluster default;
5. component checks: thread pools change by at most a factor of two, the cleaner keeps 1 MiB
   of dedupe buffer per thread, cordoned log dirs are log dirs, classes can be loaded,
   listeners parse and keep their security protocol, an existing listener's prefixed keys
   other than its TLS stores and connection limits need a restart.

``check_min_isr`` adds the controller's rule for min.insync.replicas while eligible leader
replicas are on (KIP-966): INVALID_CONFIG.

Names Kafka does not know and listener-prefixed names are accepted and kept as the strings
given, as Kafka keeps them; the keys of kpy's table are kept typed. Every refusal is
INVALID_REQUEST with a message naming the keys, as Kafka answers. Whether kpy acts on a key is
the table's business (``Key.ignored``); this module only decides what is accepted.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from kpy.config_keys import BROKER_KEYS, KAFKA_STATIC_KEYS, LISTENER_ONLY_KEYS, Key
from kpy.config_listeners import parse_listeners, parse_protocol_map
from kpy.config_values import ConfigError, parse_value
from kpy.protocol.error_codes import ErrorCode, KafkaError

if TYPE_CHECKING:
    from kpy.config import Config

LISTENER_PREFIX = re.compile(r"listener\.name\.([^.]*)\.(.*)")
# Listener-prefixed keys that may be set as the cluster default (Kafka's
# CLUSTER_LEVEL_LISTENER_CONFIGS); every other listener-prefixed name is per broker.
CLUSTER_LEVEL_LISTENER_KEYS = frozenset(
    {"max.connections", "max.connection.creation.rate", "num.network.threads"}
)
# What a listener that exists may change through its prefix without a restart.
LISTENER_RECONFIGURABLE = LISTENER_ONLY_KEYS | CLUSTER_LEVEL_LISTENER_KEYS
# The keys Kafka's DynamicListenerConfig reconfigures; an update setting one of them (by its
# plain name) has the listeners checked, including the prefixed keys of existing listeners.
LISTENER_COMPONENT_KEYS = (
    frozenset(
        {
            "listeners",
            "listener.security.protocol.map",
            "principal.builder.class",
            "ssl.protocol",
            "ssl.provider",
            "ssl.cipher.suites",
            "ssl.enabled.protocols",
            "ssl.keymanager.algorithm",
            "ssl.trustmanager.algorithm",
            "ssl.endpoint.identification.algorithm",
            "ssl.secure.random.implementation",
            "ssl.client.auth",
            "ssl.engine.factory.class",
            "sasl.mechanism.inter.broker.protocol",
            "sasl.jaas.config",
            "sasl.enabled.mechanisms",
            "sasl.kerberos.service.name",
            "sasl.kerberos.kinit.cmd",
            "sasl.kerberos.ticket.renew.window.factor",
            "sasl.kerberos.ticket.renew.jitter",
            "sasl.kerberos.min.time.before.relogin",
            "sasl.kerberos.principal.to.local.rules",
            "sasl.login.refresh.window.factor",
            "sasl.login.refresh.window.jitter",
            "sasl.login.refresh.min.period.seconds",
            "sasl.login.refresh.buffer.seconds",
        }
    )
    | LISTENER_ONLY_KEYS
    | CLUSTER_LEVEL_LISTENER_KEYS
)
# SASL keys given per mechanism under a listener prefix: listener.name.<l>.<mechanism>.<key>.
LISTENER_MECHANISM_KEYS = (
    "sasl.jaas.config",
    "sasl.login.callback.handler.class",
    "sasl.login.class",
    "sasl.server.callback.handler.class",
    "connections.max.reauth.ms",
)
# Thread pools Kafka resizes at run time by at most a factor of two either way.
THREAD_POOLS = frozenset(
    {
        "num.io.threads",
        "num.network.threads",
        "num.replica.fetchers",
        "num.recovery.threads.per.data.dir",
        "background.threads",
        "remote.log.manager.copier.thread.pool.size",
        "remote.log.manager.expiration.thread.pool.size",
        "remote.log.manager.follower.thread.pool.size",
        "remote.log.reader.threads",
    }
)
# A JVM broker loads the classes these keys name; kpy has only Kafka's own defaults to offer.
KNOWN_CLASSES = {
    "principal.builder.class": {
        "org.apache.kafka.common.security.authenticator.DefaultKafkaPrincipalBuilder"
    },
    "ssl.engine.factory.class": {"org.apache.kafka.common.security.ssl.DefaultSslEngineFactory"},
    "metric.reporters": {"org.apache.kafka.common.metrics.JmxReporter"},
}
SECURITY_PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
MIB = 1 << 20


class DynamicConfigError(ValueError):
    """A dynamic broker config update Kafka would refuse; the message is Kafka's gist."""


def typed_key(name: str) -> Key | None:
    """The table's key when ``name`` is one of Kafka's dynamic broker keys (kept typed)."""
    key = BROKER_KEYS.get(name)
    return key if key is not None and not key.read_only else None


def base_key(name: str) -> Key | None:
    """The key whose type a stored name has: itself, or the key under a listener prefix."""
    key = typed_key(name)
    if key is not None:
        return key
    m = LISTENER_PREFIX.fullmatch(name)
    if m is None:
        return None
    base = m.group(2)
    base = next((k for k in LISTENER_MECHANISM_KEYS if base.endswith(k)), base)
    key = BROKER_KEYS.get(base)
    return key if key is not None and key.described and _is_kafka_key(base) else None


def synonym_base(name: str) -> str | None:
    """The name a listener-prefixed name falls back to (Kafka lists it as a synonym)."""
    m = LISTENER_PREFIX.fullmatch(name)
    if m is None:
        return None
    base = m.group(2)
    return next((k for k in LISTENER_MECHANISM_KEYS if base.endswith(k)), base)


def _is_kafka_key(name: str) -> bool:
    return name in KAFKA_STATIC_KEYS or typed_key(name) is not None


def _names(names: Iterable[str]) -> str:
    return "[" + ", ".join(sorted(names)) + "]"


def _refuse(names: list[str], message: str) -> None:
    if names:
        raise DynamicConfigError(f"{message}: {_names(names)}")


def _per_broker_only(name: str) -> bool:
    m = LISTENER_PREFIX.fullmatch(name)
    if m is not None:
        return m.group(2) not in CLUSTER_LEVEL_LISTENER_KEYS
    key = typed_key(name)
    return key is not None and key.per_broker


def parse(name: str, raw: str) -> Any:
    """``raw`` as kpy keeps it: typed for the table's dynamic keys, else the string itself
    (validated as its base key when it has a listener prefix and the base is Kafka's)."""
    key = typed_key(name)
    if key is not None:
        return _parse_as(key, raw)
    m = LISTENER_PREFIX.fullmatch(name)
    if m is not None:
        base = BROKER_KEYS.get(m.group(2))
        if base is not None and base.described and _is_kafka_key(base.name):
            _parse_as(base, raw)
    return raw


def _parse_as(key: Key, raw: str) -> Any:
    try:
        return parse_value(key, raw)
    except ConfigError as exc:
        raise DynamicConfigError(str(exc)) from None


def check_update(
    config: Config, sets: Mapping[str, str], deletes: Iterable[str] = (), *, per_broker: bool
) -> dict[str, Any]:
    """Kafka's checks on the values a request sets on a broker resource (this broker's id when
    ``per_broker``, else the cluster default); returns them as kpy keeps them."""
    _refuse([n for n in sets if n in KAFKA_STATIC_KEYS], "Cannot update these configs dynamically")
    _refuse(
        [n for n in sets if n in LISTENER_ONLY_KEYS],
        "These security configs can be dynamically updated only per-listener using the "
        "listener prefix",
    )
    parsed = {name: parse(name, raw) for name, raw in sets.items()}
    if not per_broker:
        _refuse(
            [n for n in sets if _per_broker_only(n)],
            "Cannot update these configs at default cluster level, broker id must be specified",
        )
    _check_components(config, parsed)
    if per_broker and parsed.keys() & LISTENER_COMPONENT_KEYS:
        # Kafka applies this check to per-broker updates (and, oddly, to validate-only
        # updates of the cluster default, which it then accepts when they are not).
        _check_listener_prefixed(config, parsed, set(deletes))
    return parsed


# -- component checks --------------------------------------------------------------------------


def _check_components(config: Config, parsed: Mapping[str, Any]) -> None:
    def new(name: str) -> Any:
        return parsed[name] if name in parsed else config.get(name)

    for name in THREAD_POOLS & parsed.keys():
        old, value = config.get(name), parsed[name]
        if value > 2 * old:
            raise DynamicConfigError(
                f"Dynamic thread count update validation failed for {name}={value}, value "
                f"should not be greater than double the current value {old}"
            )
        if value < old // 2:
            raise DynamicConfigError(
                f"Dynamic thread count update validation failed for {name}={value}, value "
                f"should be at least half the current value {old}"
            )
    if "log.cleaner.threads" in parsed:
        old, value = config.get("log.cleaner.threads"), parsed["log.cleaner.threads"]
        if value > 2 * old:
            raise DynamicConfigError(
                "Log cleaner threads cannot be increased to more than double the current "
                f"value {old}"
            )
        if value == 0:
            # Kafka fails dividing the dedupe buffer by zero threads; refused all the same.
            raise DynamicConfigError("log.cleaner.threads cannot be set to 0 at run time")
    if parsed.keys() & {"log.cleaner.threads", "log.cleaner.dedupe.buffer.size"}:
        threads = max(new("log.cleaner.threads"), 1)
        if new("log.cleaner.dedupe.buffer.size") / threads < MIB:
            raise DynamicConfigError(
                "log.cleaner.dedupe.buffer.size must be at least 1MB per cleaner thread."
            )
    if parsed.get("max.connections.per.ip") == 0 and not new("max.connections.per.ip.overrides"):
        raise DynamicConfigError(
            "max.connections.per.ip can be set to zero only if "
            "max.connections.per.ip.overrides property is set."
        )
    if "cordoned.log.dirs" in parsed:
        dirs = set(config.log_dirs())
        missing = [d for d in parsed["cordoned.log.dirs"] if d != "*" and d not in dirs]
        if missing:
            raise DynamicConfigError(
                "All entries in cordoned.log.dirs must be present in log.dirs or log.dir. "
                f"Missing entries : {', '.join(missing)}"
            )
    for name, value in parsed.items():
        m = LISTENER_PREFIX.fullmatch(name)
        base = m.group(2) if m is not None else name
        if base in KNOWN_CLASSES:
            classes = value if isinstance(value, list) else str(value).split(",")
            for cls in (c.strip() for c in classes):
                if cls and cls not in KNOWN_CLASSES[base]:
                    raise DynamicConfigError(
                        f"Invalid value {cls} for configuration {base}: Class {cls} could not "
                        "be found."
                    )
    if parsed.keys() & {"listeners", "listener.security.protocol.map"}:
        _check_listeners(config, new("listeners"), new("listener.security.protocol.map"))


def _current_listeners(config: Config) -> dict[str, str]:
    """Every configured listener (controller ones too) -> its security protocol."""
    try:
        protocols = _with_controllers(
            config, parse_protocol_map(config.get("listener.security.protocol.map"))
        )
        listeners = parse_listeners(config.get("listeners"), protocols, "listeners")
    except ConfigError:
        return {}
    return {lst.name: protocols[lst.name] for lst in listeners}


def _with_controllers(config: Config, protocols: dict[str, str]) -> dict[str, str]:
    names = (config.get("controller.listener.names") or "").split(",")
    for name in (n.strip().upper() for n in names if n.strip()):
        protocols.setdefault(name, "PLAINTEXT")
    return protocols


def _check_listeners(config: Config, listeners: str, protocol_map: str) -> None:
    if not (listeners or "").strip():
        raise DynamicConfigError("Configuration 'listeners' must not be empty")
    try:
        protocols = parse_protocol_map(protocol_map)
    except ConfigError as exc:
        raise DynamicConfigError(str(exc)) from None
    for protocol in protocols.values():
        if protocol not in SECURITY_PROTOCOLS:
            raise DynamicConfigError(
                f"Invalid security protocol `{protocol}` defined in listener.security.protocol.map"
            )
    protocols = _with_controllers(config, protocols)
    try:
        parsed = parse_listeners(listeners, protocols, "listeners")
    except ConfigError as exc:
        raise DynamicConfigError(str(exc)) from None
    for lst in parsed:
        old = _current_listeners(config).get(lst.name)
        if old is not None and old != protocols[lst.name]:
            raise DynamicConfigError(
                f"Security protocol cannot be updated for existing listener ListenerName({lst.name})"
            )


def _check_listener_prefixed(
    config: Config, parsed: Mapping[str, Any], deletes: Iterable[str]
) -> None:
    """An existing listener keeps the prefixed keys it started with: once this broker holds
    another value for one (outside the TLS stores and connection limits), Kafka refuses every
    update that reconfigures the listeners, until that value is deleted again."""
    existing = {name.lower(): name for name in _current_listeners(config)}
    held: dict[str, Any] = {
        name: config.dynamic_value(name)
        for name in config.dynamic_names(per_broker=True)
        if name not in deletes
    }
    held.update(parsed)
    for name, value in sorted(held.items()):
        m = LISTENER_PREFIX.fullmatch(name)
        if m is None or m.group(1) not in existing or m.group(2) in LISTENER_RECONFIGURABLE:
            continue
        if value != config.ignored.get(name):
            raise DynamicConfigError(
                "Configs cannot be updated dynamically for existing listener "
                f"ListenerName({existing[m.group(1)]}), restart broker or create a new listener "
                "for update"
            )


def check_min_isr(sets: Mapping[str, str], deletes: Iterable[str], *, per_broker: bool) -> None:
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
