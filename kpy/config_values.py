"""Config values: a key's string parsed to its type and checked against its valid values, as
Kafka's ConfigDef does; typed values shown as Kafka shows them; topic overrides checked as
CreateTopics and AlterConfigs receive them.

Bad values raise ``ConfigError`` naming the key and the value (at start-up), or
``KafkaError(INVALID_CONFIG)`` for topic configs sent by clients (``validate_topic_config``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from kpy.config_keys import INT_RANGES, TOPIC_KEYS, Key
from kpy.protocol.error_codes import ErrorCode, KafkaError


class ConfigError(ValueError):
    """A configuration value that cannot be used; the message names the key and value."""


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
