"""``kpy consume TOPIC``: print a topic's records, like ``kcat -C``.

Output is kcat's: by default each record's value and a newline; ``-f FORMAT`` takes kcat's
tokens (``%s``/``%v`` value, ``%k`` key, ``%h`` headers as ``k=v`` comma-separated, ``%t``
topic, ``%p`` partition, ``%o`` offset, ``%T`` timestamp in ms, ``%S``/``%K`` value/key
length (-1 for null), ``%%``, and the escapes ``\\n \\r \\t \\\\``); keys, values and headers
are written as their raw bytes. ``--json`` prints one object per line instead (see
``json_record``). Follows the log until Ctrl-C (exit 0) unless ``-e`` or ``-n`` stop it.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import re
import signal
import sys
import threading
from typing import Any

import trio

from kpy.cli.output import client_options, run
from kpy.client.consumer import Consumer, StartPosition
from kpy.client.fetch import READ_COMMITTED, READ_UNCOMMITTED, ConsumedRecord

DEFAULT_FORMAT = "%s\\n"
_TOKEN = re.compile(r"%[skvhtpoTSK%]|\\[nrt\\]")
_ESCAPES = {"\\n": b"\n", "\\r": b"\r", "\\t": b"\t", "\\\\": b"\\"}


def _text(value: bytes | None) -> bytes:
    return value if value is not None else b""


def _length(value: bytes | None) -> bytes:
    return str(len(value) if value is not None else -1).encode()


def _headers(r: ConsumedRecord) -> bytes:
    return b",".join(k.encode() + b"=" + _text(v) for k, v in r.headers)


_FIELDS = {
    "%s": lambda r: _text(r.value),
    "%v": lambda r: _text(r.value),
    "%k": lambda r: _text(r.key),
    "%h": _headers,
    "%t": lambda r: r.topic.encode(),
    "%p": lambda r: str(r.partition).encode(),
    "%o": lambda r: str(r.offset).encode(),
    "%T": lambda r: str(r.timestamp).encode(),
    "%S": lambda r: _length(r.value),
    "%K": lambda r: _length(r.key),
    "%%": lambda r: b"%",
}


def compile_format(fmt: str):
    """A function formatting one record as bytes by kcat's ``-f`` tokens; any other text is
    copied as it is."""
    parts: list[Any] = []
    pos = 0
    for m in _TOKEN.finditer(fmt):
        if m.start() > pos:
            parts.append(fmt[pos : m.start()].encode())
        token = m.group()
        parts.append(_ESCAPES[token] if token in _ESCAPES else _FIELDS[token])
        pos = m.end()
    if pos < len(fmt):
        parts.append(fmt[pos:].encode())
    return lambda r: b"".join(p if isinstance(p, bytes) else p(r) for p in parts)


def _json_bytes(value: bytes | None) -> Any:
    if value is None:
        return None
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        return {"base64": base64.b64encode(value).decode("ascii")}


def json_record(r: ConsumedRecord) -> dict[str, Any]:
    """The ``--json`` form of a record: topic, partition, offset, timestamp (ms),
    timestamp_type, key, value, headers (a list of {"key", "value"}). Keys, values and header
    values are strings when they are UTF-8, ``{"base64": "..."}`` when they are not, and
    null when null."""
    return {
        "topic": r.topic,
        "partition": r.partition,
        "offset": r.offset,
        "timestamp": r.timestamp,
        "timestamp_type": r.timestamp_type,
        "key": _json_bytes(r.key),
        "value": _json_bytes(r.value),
        "headers": [{"key": k, "value": _json_bytes(v)} for k, v in r.headers],
    }


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "consume",
        parents=[client_options()],
        help="print a topic's records",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Tokens of -f: %s or %v value, %k key, %h headers (k=v,...), %t topic, "
        "%p partition, %o offset, %T timestamp (ms), %S value length, %K key length, %%; "
        "escapes \\n \\r \\t \\\\.",
    )
    p.add_argument("topic", metavar="TOPIC")
    p.add_argument(
        "-o",
        "--offset",
        type=StartPosition.parse,
        metavar="beginning|end|OFFSET|-N|@TIMESTAMP",
        help="where to start in every partition (default: end, as kafka-console-consumer; "
        "kcat's is beginning; a group starts at its committed offsets and uses this where it "
        "has none)",
    )
    p.add_argument("-n", "--count", type=int, metavar="N", help="stop after N records")
    p.add_argument("-e", "--exit", action="store_true", help="stop at the end of the partitions")
    p.add_argument(
        "-g", "--group", metavar="GROUP", help="consume as a member of GROUP, committing offsets"
    )
    p.add_argument(
        "-p", "--partition", type=int, action="append", metavar="P", help="only partition P"
    )
    p.add_argument(
        "-f",
        "--format",
        default=DEFAULT_FORMAT,
        metavar="FORMAT",
        help="kcat's format (default: %(default)s, the value on a line)",
    )
    p.add_argument(
        "--read-committed",
        action="store_true",
        help="skip aborted transactions and stop at the last stable offset",
    )
    p.set_defaults(func=_consume)


def _consume(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    if args.group and args.partition is not None:
        parser.error("-g and -p exclude each other: a group member is assigned its partitions")
    if args.count is not None and args.count < 0:
        parser.error("-n must be 0 or more")
    fmt = compile_format(args.format)
    out = sys.stdout.buffer

    def emit(r: ConsumedRecord) -> None:
        if args.json:
            out.write(json.dumps(json_record(r), ensure_ascii=False).encode() + b"\n")
        else:
            out.write(fmt(r))

    async def consume(client, started) -> None:
        printed = 0
        isolation = READ_COMMITTED if args.read_committed else READ_UNCOMMITTED
        async with Consumer(
            client,
            args.topic,
            start=args.offset,
            partitions=args.partition,
            group=args.group,
            isolation_level=isolation,
        ) as consumer:
            started(consumer)
            if args.count == 0:
                return
            async for part in consumer.batches(stop_at_end=args.exit):
                try:
                    for r in part.records:
                        emit(r)
                        printed += 1
                        if printed == args.count:
                            break
                    out.flush()
                except BrokenPipeError:
                    # The reader went away (``| head``): the group commits only what was
                    # printed before this batch, then run() ends with SIGPIPE's status.
                    _discard_stdout()
                    raise
                if printed == args.count:
                    consumer.consumed(r.partition, r.offset + 1)
                else:
                    consumer.consumed(part.partition, part.next_offset)
                await consumer.commit()
                if printed == args.count:
                    break

    async def command(client) -> int:
        failure: Exception | None = None
        consumers: list[Consumer] = []
        async with trio.open_nursery() as nursery:
            if threading.current_thread() is threading.main_thread():
                nursery.start_soon(_stop_on_sigint, consumers, nursery.cancel_scope)
            try:
                await consume(client, consumers.append)
            except Exception as exc:  # raised after the nursery, not inside its group
                failure = exc
            finally:
                try:
                    out.flush()
                except BrokenPipeError:
                    _discard_stdout()
                nursery.cancel_scope.cancel()
        if failure is not None:
            raise failure
        return 0

    return run(args, command)


def _discard_stdout() -> None:
    """Point stdout at /dev/null, so that Python's own flush at exit does not fail again."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


async def _stop_on_sigint(consumers: list[Consumer], scope: trio.CancelScope) -> None:
    """The first Ctrl-C ends the run cleanly (offsets committed, the group left; exit code
    0) once the fetch in flight returns; a second one cancels at once."""
    with trio.open_signal_receiver(signal.SIGINT) as signals:
        async for _ in signals:
            if not consumers:
                break
            consumers[0].stop()
            break
        async for _ in signals:
            break
    scope.cancel()
