"""The conformance checks' traffic as differential sequences (see differential.py).

conformance/wire.py, with ``KPY_WIRE_RECORD`` set, writes each request, raw frame, read and
close check of every WireClient as a JSON line tagged with its pytest test; load_capture()
turns each check's lines into one Sequence with fresh names and the answers seen at capture
time, from which the runner learns which ids each broker handed out.
"""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path
from typing import Any

from conformance.differential_gen import Sequence, Step, map_leaves
from kpy.protocol import api_keys, framing
from kpy.protocol.primitives import ProtocolError

_CAPTURED = re.compile(r"conf-[\w.-]*?-([0-9a-f]{10})(?![0-9a-f])")
_CAPTURED_BYTES = re.compile(rb"conf-[\w.-]*?-([0-9a-f]{10})(?![0-9a-f])")


def load_capture(path: Path) -> list[Sequence]:
    """The checks' recorded traffic as one sequence per check, with fresh names.

    Names made by ``conformance.raw.unique`` get a new random suffix of the same length (so
    that names inside consumer-protocol bytes can be replaced too); ids the broker handed out
    at capture time stay as recorded and are rebound per broker from the recorded answers.
    """
    by_test: dict[str, list[dict[str, Any]]] = {}
    for line in path.read_text().splitlines() if path.exists() else []:
        event = json.loads(line)
        if event[
            "test"
        ]:  # traffic outside a check (the suite's closing ApiVersions) is not replayed
            by_test.setdefault(event["test"], []).append(event)
    out = []
    for test, events in by_test.items():
        suffixes: dict[str, str] = {}

        def fresh(m: re.Match[str], suffixes: dict[str, str] = suffixes) -> str:
            new = suffixes.setdefault(m.group(1), uuid.uuid4().hex[:10])
            return m.group(0)[: -len(new)] + new

        conns: dict[int, int] = {}
        pending: dict[int, list[tuple[int, int]]] = {}  # per connection: raw requests unanswered
        steps = []
        for e in events:
            conn = conns.setdefault(e["conn"], len(conns))
            if e["op"] == "send":
                info = api_keys.API_KEYS[e["key"]]
                req = info.request_class.decode(bytes.fromhex(e["body"]), e["version"])
                recorded = None
                if e.get("response"):
                    try:
                        _corr, recorded = framing.decode_response(
                            e["key"], e["version"], bytes.fromhex(e["response"])
                        )
                    except ValueError:
                        pass
                steps.append(
                    Step(
                        "send",
                        e["key"],
                        e["version"],
                        _rename(req, fresh),
                        expect_response=e.get("expect_response", True),
                        conn=conn,
                        recorded=recorded,
                    )
                )
            elif e["op"] == "raw":
                data = bytes.fromhex(e["data"])
                steps.append(Step("raw", conn=conn, data=data))
                pending.setdefault(conn, []).extend(_request_frames(data))
            elif e["op"] == "recv":
                key, version = pending[conn].pop(0) if pending.get(conn) else (-1, 0)
                steps.append(Step("recv", key, version, conn=conn))
            elif e["op"] == "is_closed":
                steps.append(
                    Step("is_closed", conn=conn, timeout=e["timeout"], recorded=e["closed"])
                )
        names: dict[str, str] = {}
        for s in steps:
            if s.request is not None:
                _collect_names(s.request, suffixes, names)
        out.append(
            Sequence(f"check:{test.rsplit('::', 1)[-1]}", steps, names, list(names.values()))
        )
    return out


def _rename(obj: Any, fresh: Any) -> Any:
    return map_leaves(obj, lambda _attr, ftype, value: _rename_leaf(value, ftype, fresh))


def _rename_leaf(value: Any, ftype: str, fresh: Any) -> Any:
    if isinstance(value, str) and "conf-" in value:
        return _CAPTURED.sub(fresh, value)
    if ftype.endswith("bytes") and value and b"conf-" in bytes(value):
        return _CAPTURED_BYTES.sub(lambda m: fresh(_AsText(m)).encode(), bytes(value))
    return value


class _AsText:
    """A bytes match seen as a str match, for the one renaming function."""

    def __init__(self, m: re.Match[bytes]) -> None:
        self.m = m

    def group(self, n: int = 0) -> str:
        return self.m.group(n).decode()


def _collect_names(obj: Any, suffixes: dict[str, str], names: dict[str, str]) -> None:
    """Original name -> fresh name, for each renamed string in a request."""
    back = {new: old for old, new in suffixes.items()}
    for attr, _ftype, *_rest, struct_name in obj.FIELDS:
        value = getattr(obj, attr)
        values = value if isinstance(value, list) else [value]
        for v in values:
            if struct_name is not None and v is not None:
                _collect_names(v, suffixes, names)
            elif isinstance(v, str):
                for m in _CAPTURED.finditer(v):
                    new = m.group(0)
                    old = new[:-10] + back.get(m.group(1), m.group(1))
                    names[old] = new


def _request_frames(data: bytes) -> list[tuple[int, int]]:
    """(key, version) of each well-formed request frame in raw bytes, in order."""
    out = []
    pos = 0
    while pos + 4 <= len(data):
        size = int.from_bytes(data[pos : pos + 4], "big", signed=True)
        if size < 8 or pos + 4 + size > len(data):
            break
        try:
            header, _ = framing.decode_request_header(data[pos + 4 : pos + 4 + size])
        except ProtocolError:
            break
        if header.request_api_key in api_keys.API_KEYS:
            out.append((header.request_api_key, header.request_api_version))
        pos += 4 + size
    return out
