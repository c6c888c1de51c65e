"""The ``kpy`` command: ``main(argv=None) -> int``.

One module per command group, each with ``register(subparsers)`` adding its commands and
setting ``func(args) -> int`` on each: serve.py (``serve``, ``version``, ``api-versions``,
``kafka-tool``), topic.py, produce.py, consume.py, group.py, cluster.py. The client commands
work against any Kafka-compatible broker (``-b/--brokers``, else ``$KPY_BROKERS``, else
localhost:9092); they print aligned tables for people and JSON with ``--json``.

Exit codes: 0 success, 1 a failure (a Kafka error, shown as one line with Kafka's name for it;
an unreachable broker; a configuration error of ``serve``), 2 bad usage (argparse).
"""

from __future__ import annotations

import argparse
import importlib
import sys

from kpy import __version__
from kpy.cli.serve import api_versions_table, setup_logging

__all__ = ["api_versions_table", "build_parser", "main", "setup_logging"]

# The module of each command, so that one command loads only its own module: `kpy serve`
# starts without importing the client, `kpy topic` without the broker.
MODULE_OF = {
    "serve": "serve",
    "version": "serve",
    "api-versions": "serve",
    "kafka-tool": "serve",
    "topic": "topic",
    "produce": "produce",
    "consume": "consume",
    "group": "group",
    "cluster": "cluster",
}
COMMAND_MODULES = tuple(dict.fromkeys(MODULE_OF.values()))


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser of every command, or only of ``command``'s module when it names one."""
    parser = argparse.ArgumentParser(
        prog="kpy",
        description="A Kafka-compatible broker, and a command line for any Kafka cluster.",
    )
    parser.add_argument("--version", action="version", version=f"kpy {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    only = MODULE_OF.get(command or "")
    for name in COMMAND_MODULES if only is None else (only,):
        importlib.import_module(f"kpy.cli.{name}").register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    given = sys.argv[1:] if argv is None else argv
    parser = build_parser(given[0] if given else None)
    args = parser.parse_args(given)
    return args.func(args, parser)
