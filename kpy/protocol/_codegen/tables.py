"""Render kpy/protocol/api_keys.py: the API table, KIP-896 floors and header versions."""

from __future__ import annotations

import re

from kpy.protocol._codegen.schema import Message, snake

# KIP-896 (Kafka 4.0): versions below these were removed from the broker; every other API
# keeps its schema minimum. Taken from the Kafka 4.0 schemas' "removed in 4.0" notes.
KAFKA4_FLOORS = {
    0: 3,  # Produce
    1: 4,  # Fetch
    2: 1,  # ListOffsets
    8: 2,  # OffsetCommit
    9: 1,  # OffsetFetch
    19: 2,  # CreateTopics
    20: 1,  # DeleteTopics
    23: 2,  # OffsetForLeaderEpoch
    27: 1,  # WriteTxnMarkers
    29: 1,  # DescribeAcls
    30: 1,  # CreateAcls
    31: 1,  # DeleteAcls
    32: 1,  # DescribeConfigs
    34: 1,  # AlterReplicaLogDirs
    35: 1,  # DescribeLogDirs
    38: 1,  # CreateDelegationToken
    39: 1,  # RenewDelegationToken
    40: 1,  # ExpireDelegationToken
    41: 1,  # DescribeDelegationToken
}


def api_module_name(msg_name: str) -> str:
    return snake(re.sub(r"(Request|Response)$", "", msg_name)).rstrip("_")


HEAD = '''"""The Kafka API table: key -> name, classes, schema version range, flexible versions.

``kafka4_min`` is the oldest version Apache Kafka 4.0 still accepts (KIP-896).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

API_VERSIONS_KEY = 18
_CLASSES: dict[tuple[int, str], Any] = {}


@dataclass(frozen=True, slots=True)
class ApiInfo:
    key: int
    name: str
    module: str
    schema_min: int
    schema_max: int  # newest stable version (an unstable latest version is left out)
    flexible_min: int | None
    kafka4_min: int
    listeners: tuple[str, ...]

    def _class(self, kind: str) -> Any:
        cls = _CLASSES.get((self.key, kind))
        if cls is None:
            module = importlib.import_module(f"kpy.protocol.messages.{self.module}")
            cls = _CLASSES[(self.key, kind)] = getattr(module, f"{self.name}{kind}")
        return cls

    @property
    def request_class(self) -> Any:
        return self._class("Request")

    @property
    def response_class(self) -> Any:
        return self._class("Response")

    def is_flexible(self, version: int) -> bool:
        return self.flexible_min is not None and version >= self.flexible_min


API_KEYS: dict[int, ApiInfo] = {
'''

TAIL = '''}


def request_header_version(api_key: int, api_version: int) -> int:
    """Request header v2 for flexible versions, else v1 (ControlledShutdown v0 used v0)."""
    info = API_KEYS.get(api_key)
    if info is None:
        return 1
    if api_key == 7 and api_version == 0:
        return 0
    return 2 if info.is_flexible(api_version) else 1


def response_header_version(api_key: int, api_version: int) -> int:
    """Response header v1 for flexible versions, else v0; ApiVersions always uses v0 (KIP-511)."""
    if api_key == API_VERSIONS_KEY:
        return 0
    info = API_KEYS.get(api_key)
    return 1 if info is not None and info.is_flexible(api_version) else 0
'''


def render_api_keys(messages: list[Message], banner: str) -> str:
    requests = {m.api_key: m for m in messages if m.kind == "request" and m.api_key is not None}
    responses = {m.api_key: m for m in messages if m.kind == "response" and m.api_key is not None}
    rows = []
    for key in sorted(requests):
        req = requests[key]
        resp = responses[key]
        if resp.valid != req.valid:
            raise ValueError(f"{req.name} and {resp.name} have different validVersions")
        name = re.sub(r"Request$", "", req.name)
        hi = req.valid.hi - (1 if req.unstable_latest else 0)
        flex = None if req.flexible.empty else req.flexible.lo
        floor = max(KAFKA4_FLOORS.get(key, req.valid.lo), req.valid.lo)
        rows.append(
            f"    {key}: ApiInfo(\n"
            f"        {key}, {name!r}, {api_module_name(req.name)!r}, {req.valid.lo}, {hi}, {flex},"
            f" {floor},\n"
            f"        {tuple(req.listeners)!r},\n"
            f"    ),\n"
        )
    return banner + HEAD + "".join(rows) + TAIL
