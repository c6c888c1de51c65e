"""``kpy produce TOPIC``: one record per line of standard input, like ``kcat -P``.

Lines are sent in batches: whenever the input pauses (a line typed at a terminal, a slow
pipe), when ``FLUSH_BYTES`` are waiting, and at the end of the input; a file or a fast pipe
therefore becomes a few large batches, not a request per line. Prints nothing unless asked
(``--json``: one object per record, ``{"topic", "partition", "offset"}``, offset null with
``--acks 0``); records the broker refused are reported on stderr, a line per batch, and
make the exit code 1.
"""

from __future__ import annotations

import argparse
import json
import sys

import trio

from kpy.cli.output import client_options, run
from kpy.client.produce import ACKS, ProducerRecord, codec_id, produce
from kpy.protocol.compression import CODEC_IDS

READ_BYTES = 64 * 1024
FLUSH_BYTES = 1 << 20


class LineSplitter:
    """Bytes of standard input in, complete lines out (without their ``\\n``); the last line
    may lack one."""

    def __init__(self) -> None:
        self._rest = b""

    def feed(self, chunk: bytes) -> list[bytes]:
        data = self._rest + chunk
        *lines, self._rest = data.split(b"\n")
        return lines

    def finish(self) -> list[bytes]:
        rest, self._rest = self._rest, b""
        return [rest] if rest else []


def to_record(line: bytes, key_separator: bytes | None, headers: list) -> ProducerRecord:
    """kcat's ``-K``: the key is the text before the first separator; a line without one is
    all value, with a null key."""
    key = None
    if key_separator:
        before, sep, after = line.partition(key_separator)
        if sep:
            key, line = before, after
    return ProducerRecord(line, key, list(headers))


def _header(text: str) -> tuple[str, bytes]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected key=value, got {text!r}")
    return key, value.encode()


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "produce",
        parents=[client_options()],
        help="write standard input's lines to a topic, one record per line",
    )
    p.add_argument("topic", metavar="TOPIC")
    p.add_argument(
        "-k",
        "--key-separator",
        metavar="SEP",
        help="split each line at the first SEP into key and value (kcat's -K)",
    )
    p.add_argument(
        "-H",
        "--header",
        action="append",
        default=[],
        type=_header,
        metavar="KEY=VALUE",
        help="a header for every record (repeatable)",
    )
    p.add_argument(
        "-p",
        "--partition",
        type=int,
        help="default: the key's murmur2 partition (as Java's client); unkeyed records: "
        "one random partition per batch",
    )
    p.add_argument("-z", "--compression", choices=list(CODEC_IDS), default="none")
    p.add_argument("--acks", choices=["0", "1", "all"], default="all")
    p.set_defaults(func=_produce)


def _produce(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    separator = args.key_separator.encode() if args.key_separator else None
    stdin = sys.stdin.buffer
    read = getattr(stdin, "read1", stdin.read)

    async def command(client) -> int:
        failed = 0
        splitter = LineSplitter()
        pending: list[ProducerRecord] = []
        size = 0

        async def flush() -> None:
            nonlocal pending, size, failed
            if not pending:
                return
            results = await produce(
                client,
                args.topic,
                pending,
                args.partition,
                compression=codec_id(args.compression),
                acks=ACKS[args.acks],
                auto_create=True,  # as kcat and kafka-console-producer do
            )
            pending, size = [], 0
            refused: dict[tuple[int, str], int] = {}
            for r in results:
                if r.error:
                    refused[(r.partition, r.error)] = refused.get((r.partition, r.error), 0) + 1
                elif args.json:
                    print(
                        json.dumps({"topic": r.topic, "partition": r.partition, "offset": r.offset})
                    )
            sys.stdout.flush()
            for (partition, error), count in refused.items():  # one line per refused batch
                failed += count
                records = f"{count} record{'s' if count > 1 else ''}"
                print(f"kpy: {error} ({records} for partition {partition})", file=sys.stderr)

        while True:
            chunk = await trio.to_thread.run_sync(read, READ_BYTES, abandon_on_cancel=True)
            lines = splitter.feed(chunk) if chunk else splitter.finish()
            for line in lines:
                pending.append(to_record(line, separator, args.header))
                size += len(line) + 8
            # A short read means nothing more was waiting: send what we have.
            if not chunk or len(chunk) < READ_BYTES or size >= FLUSH_BYTES:
                await flush()
            if not chunk:
                break
        return 1 if failed else 0

    return run(args, command)
