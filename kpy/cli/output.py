"""What the client commands share: the ``-b/--brokers`` and ``--json`` options, running one
command on a ``Client``, tables for people, JSON for scripts, and errors as one line.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any

import trio

from kpy.client import DEFAULT_BOOTSTRAP, Client, ClientError

ENV_BROKERS = "KPY_BROKERS"


def client_options() -> argparse.ArgumentParser:
    """A parent parser with the options every client command takes."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "-b",
        "--brokers",
        metavar="HOST:PORT",
        default=os.environ.get(ENV_BROKERS) or DEFAULT_BOOTSTRAP,
        help=f"bootstrap brokers, comma-separated (default: ${ENV_BROKERS}, else {DEFAULT_BOOTSTRAP})",
    )
    common.add_argument("--json", action="store_true", help="print JSON instead of a table")
    return common


def run(args: argparse.Namespace, command: Callable[[Client], Awaitable[int | None]]) -> int:
    """Connect to ``args.brokers``, run ``command``, and turn failures into one line on
    stderr (Kafka's error name first) and exit code 1."""

    async def main() -> int | None:
        async with Client.connect(args.brokers, client_id="kpy-cli") as client:
            return await command(client)

    try:
        return trio.run(main) or 0
    except ClientError as exc:
        return fail(str(exc))
    except ValueError as exc:  # a malformed broker address or argument value
        return fail(str(exc))
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (``kpy ... | head``): no traceback, and the exit status of a
        # process killed by SIGPIPE, as C and Go tools such as kcat and rpk end. Python would
        # complain again when flushing stdout at exit, so stdout goes to /dev/null first.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141


def fail(message: str) -> int:
    print(f"kpy: {message}", file=sys.stderr)
    return 1


def plain(value: Any) -> Any:
    """Dataclasses, tuples and sets as JSON-ready lists and dicts."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [plain(v) for v in value]
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value


def print_json(value: Any) -> None:
    print(json.dumps(plain(value), indent=2, sort_keys=False))


def table(rows: Iterable[Sequence[Any]], headers: Sequence[str]) -> str:
    """Columns aligned with two spaces between them; numeric columns right-aligned; None
    shown as "-"."""
    rows = [list(r) for r in rows]
    numeric = [
        bool(rows) and all(_is_number(r[i]) or r[i] is None for r in rows)
        for i in range(len(headers))
    ]
    cells = [[_cell(v) for v in r] for r in rows]
    widths = [max([len(h), *(len(r[i]) for r in cells)]) for i, h in enumerate(headers)]
    lines = ["  ".join(h.upper().ljust(w) for h, w in zip(headers, widths)).rstrip()]
    for r in cells:
        out = [c.rjust(w) if numeric[i] else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths))]
        lines.append("  ".join(out).rstrip())
    return "\n".join(lines)


def print_table(rows: Iterable[Sequence[Any]], headers: Sequence[str]) -> None:
    print(table(rows, headers))


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _cell(v: Any) -> str:
    if v is None:
        return "-"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, bytes):
        return v.decode("utf-8", "replace")
    return str(v)


def print_fields(fields: Sequence[tuple[str, Any]]) -> None:
    """``NAME  value`` lines, names upper-cased and aligned (a record's header)."""
    width = max((len(name) for name, _ in fields), default=0)
    for name, value in fields:
        print(f"{name.upper().ljust(width)}  {_cell(value)}")
