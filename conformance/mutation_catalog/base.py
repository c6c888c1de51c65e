"""The Mutation record, how a mutation finds its place in kpy/, and the helpers the area
modules share. The rule itself is told in the package docstring (``__init__.py``)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

MARKER = "# mutation-point:"
WINDOW = 20  # lines after a marker in which an anchored mutation's old text must begin
_MARKER_LINE = re.compile(r"^[ \t]*# mutation-point: ([\w.-]+)[ \t]*$", re.MULTILINE)


@dataclass(frozen=True)
class Mutation:
    name: str
    old: str  # exact text, found once among kpy's hand-written modules (or after ``anchor``)
    new: str
    checks: str | None  # pytest -k expression; None: every check
    breaks: str  # the Kafka behaviour that no longer holds
    anchor: str | None = field(default=None, kw_only=True)  # a ``# mutation-point:`` name

    def __post_init__(self) -> None:
        if "\n" not in self.old and self.old.endswith(".py"):
            # The catalogue once named the file second; such an entry now fails here, loudly.
            raise TypeError(f"mutation {self.name}: no file argument any more (old={self.old!r})")


class Unplaced(Exception):
    """A mutation that does not find exactly one place; the message says why."""


@dataclass(frozen=True)
class Site:
    """Where a mutation applies: ``path`` relative to kpy/, ``offset`` of ``old`` in it."""

    path: str
    offset: int
    line: int  # 1-based, for reports


def hand_written(root: Path) -> dict[str, str]:
    """Every hand-written module under ``root`` (a kpy/ tree): path relative to it -> text.
    Generated modules (first line ``# GENERATED``) are left out."""
    sources = {}
    for path in sorted(root.rglob("*.py")):
        if "__pycache__" in path.parts:
            continue
        text = path.read_text()
        if not text.startswith("# GENERATED"):
            sources[path.relative_to(root).as_posix()] = text
    return sources


def markers(sources: dict[str, str]) -> dict[str, list[tuple[str, int]]]:
    """Marker name -> every (path, offset just past the marker line) where it stands."""
    found: dict[str, list[tuple[str, int]]] = {}
    for path, text in sources.items():
        for m in _MARKER_LINE.finditer(text):
            end = text.find("\n", m.end())
            found.setdefault(m.group(1), []).append((path, len(text) if end < 0 else end + 1))
    return found


def _occurrences(text: str, old: str, start: int = 0, stop: int | None = None) -> list[int]:
    stop = len(text) if stop is None else stop
    hits, at = [], text.find(old, start)
    while 0 <= at < stop:
        hits.append(at)
        at = text.find(old, at + 1)
    return hits


def locate(mutation: Mutation, sources: dict[str, str]) -> Site:
    """The one place ``mutation`` applies in ``sources`` (see ``hand_written``), else Unplaced."""
    if not mutation.old:
        raise Unplaced("the old text is empty")
    if mutation.anchor is None:
        hits = [(p, at) for p, text in sources.items() for at in _occurrences(text, mutation.old)]
        if len(hits) != 1:
            where = sorted({f"kpy/{p}" for p, _ in hits})
            raise Unplaced(
                f"the old text occurs {len(hits)} times under kpy/"
                + (f" ({', '.join(where)})" if where else "")
            )
        path, at = hits[0]
    else:
        places = markers(sources).get(mutation.anchor, [])
        if len(places) != 1:
            where = ", ".join(f"kpy/{p}" for p, _ in places)
            raise Unplaced(
                f"the marker '{MARKER} {mutation.anchor}' stands {len(places)} times under kpy/"
                + (f" ({where})" if where else "")
            )
        path, start = places[0]
        text = sources[path]
        stop = start
        for _ in range(WINDOW):
            stop = text.find("\n", stop) + 1 or len(text)
        hits = [(path, at) for at in _occurrences(text, mutation.old, start, stop)]
        if len(hits) != 1:
            raise Unplaced(
                f"the old text begins {len(hits)} times in the {WINDOW} lines after"
                f" '{MARKER} {mutation.anchor}' (kpy/{path})"
            )
        at = hits[0][1]
    return Site(path, at, sources[path].count("\n", 0, at) + 1)


def apply(mutation: Mutation, sources: dict[str, str]) -> tuple[Site, str]:
    """The site and the whole mutated text of the file ``mutation`` changes."""
    site = locate(mutation, sources)
    text = sources[site.path]
    return site, text[: site.offset] + mutation.new + text[site.offset + len(mutation.old) :]


M = Mutation

BAD_INPUT = (
    "test_bad_frame_closes_only_that_connection or test_connection_closed_mid_frame_is_harmless"
    " or test_valid_then_garbage"
)
CONTROL_BATCH_CHECK = (
    "    if header.is_control:\n"
    '        raise KafkaError(ErrorCode.INVALID_RECORD, "Clients cannot write control batches")\n'
)


def refuse_codec(codec: str, attribute: int) -> Mutation:
    """Batches of one codec are refused, as by a broker built without that codec."""
    if codec == "none":
        # Every client row: a client may send a batch uncompressed whatever its codec setting
        # (kafka-python when compression does not shrink it, librdkafka before 2.11.1 when the
        # broker does not advertise Produce v0), and this shows which rows do.
        checks, breaks = "test_client_round_trip", "uncompressed batches are accepted"
    else:
        checks = f"test_client_round_trip and {codec}"
        breaks = f"{codec} batches are accepted from every client and come back intact"
    return M(
        f"refuse-{codec}-batches",
        CONTROL_BATCH_CHECK,
        f"    if header.compression == {attribute}:  # mutation: {codec} refused\n"
        f'        raise KafkaError(ErrorCode.UNSUPPORTED_COMPRESSION_TYPE, "no {codec}")\n'
        + CONTROL_BATCH_CHECK,
        checks,
        breaks,
    )
