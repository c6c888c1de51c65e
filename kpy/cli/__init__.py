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

from kpy import __version__
from kpy.cli.serve import api_versions_table, setup_logging

__all__ = ["api_versions_table", "build_parser", "main", "setup_logging"]

COMMAND_MODULES = ("serve", "topic", "produce", "consume", "group", "cluster")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kpy",
        description="A Kafka-compatible broker, and a command line for any Kafka cluster.",
    )
    parser.add_argument("--version", action="version", version=f"kpy {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(f"kpy.cli.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"kpy.cli.{name}":
                raise
            continue  # a command group not written yet
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    return args.func(args, parser)
