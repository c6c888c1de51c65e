"""How the console shows Kafka's data to people: record keys, values and headers as text
(JSON pretty-printed, binary as hex), timestamps in UTC, sizes and counts. Pure functions,
no I/O: the pages' handlers call them and the templates only print what they return.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime

# A value larger than this is cut in the browser (the full record stays in the log): a page
# of a hundred 1 MiB records would be a 100 MiB page.
SHOWN_BYTES = 16 * 1024


@dataclass(slots=True)
class ShownBytes:
    """A key, value or header value as text, and a note saying how it was rendered."""

    text: str | None  # None: the record's field is null
    note: str = ""


def show_bytes(data: bytes | None, *, pretty_json: bool = True) -> ShownBytes:
    """``data`` as text: UTF-8 as it is, a JSON object or array indented (``pretty_json``),
    anything else as hex; cut at SHOWN_BYTES with a note saying so."""
    if data is None:
        return ShownBytes(None)
    data = bytes(data)
    cut = len(data) > SHOWN_BYTES
    head = data[:SHOWN_BYTES]
    cut_note = f"first {SHOWN_BYTES:,} of {len(data):,} bytes" if cut else ""
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A cut may split a multi-byte character at the very end: that is still text.
        if not cut or exc.start < len(head) - 3:
            return ShownBytes(head.hex(" "), _join("binary, as hex", cut_note))
        text = head[: exc.start].decode("utf-8")
    if pretty_json and not cut:
        pretty = _pretty_json(text)
        if pretty is not None:
            return ShownBytes(pretty, "JSON")
    return ShownBytes(text, cut_note)


def _pretty_json(text: str) -> str | None:
    stripped = text.strip()
    if not stripped or stripped[0] not in "{[":
        return None  # numbers and strings are JSON too, but shown as they are
    try:
        parsed = json.loads(stripped)
    except ValueError:
        return None
    return json.dumps(parsed, indent=2, ensure_ascii=False)


def _join(*notes: str) -> str:
    return ", ".join(n for n in notes if n)


def timestamp_text(ms: int) -> str:
    """A record timestamp (ms since the epoch) as ``2026-12-03 18:30:05.123 UTC``; -1 (no
    timestamp, as in message format v0) as ``none``."""
    if ms < 0:
        return "none"
    try:
        moment = datetime.fromtimestamp(ms / 1000, UTC)
    except (OverflowError, OSError, ValueError):
        return f"{ms} ms"
    return moment.strftime("%Y-%m-%d %H:%M:%S.") + f"{ms % 1000:03d} UTC"


def timestamp_type_text(timestamp_type: str) -> str:
    """Kafka's TimestampType name (CreateTime, LogAppendTime) for people."""
    return "log append time" if timestamp_type == "LogAppendTime" else "create time"


def parse_time(text: str) -> int:
    """Milliseconds since the epoch from what a person types: ``2026-12-03T18:30[:05[.123]]``
    (a browser's datetime-local field; UTC unless an offset is given), or a number of
    milliseconds. ValueError names the text otherwise."""
    text = text.strip()
    if text.lstrip("-").isdigit():
        return int(text)
    try:
        moment = datetime.fromisoformat(text.replace(" ", "T", 1))
    except ValueError:
        raise ValueError(f"{text!r} is not a time (YYYY-MM-DDTHH:MM:SS, UTC)") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


def time_input_value(ms: int | None) -> str:
    """``ms`` for a datetime-local field (UTC, to the second); empty for None."""
    if ms is None or ms < 0:
        return ""
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S")


def parse_headers(text: str) -> list[tuple[str, bytes]]:
    """Record headers from ``name=value`` lines (blank lines skipped; a value may contain
    ``=``; a line without one is a header with an empty value)."""
    out = []
    for line in text.splitlines():
        if not line.strip():
            continue
        name, _, value = line.partition("=")
        name = name.strip()
        if not name:
            raise ValueError(f"header line {line!r} has no name (name=value)")
        out.append((name, value.encode()))
    return out


def size_text(n: int | None) -> str:
    """Bytes for people: ``0 B``, ``12.3 KiB``, ``4.0 MiB``."""
    if n is None:
        return "–"
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(value) < 1024 or unit == "TiB":
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("not reached")


def count_text(n: int | None) -> str:
    """A count with thousands separators; ``–`` when unknown."""
    return "–" if n is None else f"{n:,}"


def duration_text(seconds: float | None) -> str:
    """A duration for people: ``42 s``, ``5 min 3 s``, ``2 h 10 min``, ``3 d 4 h``."""
    if seconds is None:
        return "–"
    s = int(seconds)
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60} s"
    if s < 86400:
        return f"{s // 3600} h {s % 3600 // 60} min"
    return f"{s // 86400} d {s % 86400 // 3600} h"
