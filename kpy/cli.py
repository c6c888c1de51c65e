"""Command line: ``kpy serve`` (like kafka-server-start.sh) and ``kpy version``."""

from __future__ import annotations

import argparse
import logging
import sys

from kpy import __version__


def _parse_override(text: str) -> tuple[str, str]:
    if "=" not in text:
        raise argparse.ArgumentTypeError(f"--override expects key=value, got {text!r}")
    key, value = text.split("=", 1)
    return key.strip(), value.strip()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kpy", description="A Kafka-compatible broker.")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="start a broker")
    serve.add_argument("--config", "-c", help="server.properties file (Kafka's format)")
    serve.add_argument(
        "--override",
        action="append",
        default=[],
        type=_parse_override,
        metavar="KEY=VALUE",
        help="set a config key, overriding the file (repeatable)",
    )
    serve.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    sub.add_parser("version", help="print kpy's version")
    sub.add_parser("api-versions", help="print the supported Kafka APIs and versions (Markdown)")
    return parser


def api_versions_table() -> str:
    """The Markdown table of implemented APIs, from the handler registry."""
    from kpy import dispatch
    from kpy.protocol import api_keys

    dispatch.load_handlers()
    lines = ["| key | API | versions | Kafka 4.0 range |", "| ---: | --- | --- | --- |"]
    for key, lo, hi in dispatch.supported_versions():
        info = api_keys.API_KEYS[key]
        lines.append(f"| {key} | {info.name} | {lo}-{hi} | {info.kafka4_min}-{info.schema_max} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "version":
        print(f"kpy {__version__}")
        return 0
    if args.command == "api-versions":
        print(api_versions_table(), end="")
        return 0
    logging.basicConfig(
        level=getattr(logging, args.log_level),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    from kpy.config import Config, ConfigError

    try:
        config = Config.from_file(args.config, dict(args.override))
    except ConfigError as exc:
        print(f"kpy: configuration error: {exc}", file=sys.stderr)
        return 1
    from kpy.server import run

    return run(config)
