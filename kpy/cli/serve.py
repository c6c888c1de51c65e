"""``kpy serve`` (like kafka-server-start.sh), ``kpy version`` (or ``--version``),
``kpy api-versions``, ``kpy kafka-tool NAME ARGS...`` (Kafka's own tools, kpy/kafka_tool.py).

``serve`` exits 0 on a clean stop, 1 for a configuration error (one message on stderr naming
the key and value) or a start-up failure (one message naming the port or the directory).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys

from kpy import __version__

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def _parse_override(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise argparse.ArgumentTypeError(f"--override expects key=value, got {text!r}")
    return key.strip(), value.strip()


def register(sub: argparse._SubParsersAction) -> None:
    serve = sub.add_parser(
        "serve",
        help="start a broker",
        description="Start a broker. Reads Kafka's server.properties format and key names.",
    )
    # kafka-server-start.sh takes the file as its first argument; accept that form too.
    serve.add_argument("config_file", nargs="?", metavar="FILE", help="same as --config FILE")
    serve.add_argument("--config", "-c", metavar="FILE", help="server.properties file")
    serve.add_argument(
        "--override",
        action="append",
        default=[],
        type=_parse_override,
        metavar="KEY=VALUE",
        help="set a config key, overriding the file (repeatable)",
    )
    serve.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    serve.set_defaults(func=_serve)
    sub.add_parser("version", help="print kpy's version").set_defaults(func=_version)
    sub.add_parser(
        "api-versions", help="print the supported Kafka APIs and versions (Markdown)"
    ).set_defaults(func=_api_versions)
    tool = sub.add_parser(
        "kafka-tool",
        help="run one of Apache Kafka's command-line tools (kafka-topics, ...)",
        description="Run Kafka's bin/NAME.sh tool from its jars ($KPY_KAFKA_JARS, else "
        "./.cache/kafka-4.4.0): java -cp JARS/* MAIN-CLASS ARGS.",
    )
    tool.add_argument("name", metavar="NAME", help="the script's name, e.g. kafka-topics")
    tool.add_argument("args", nargs=argparse.REMAINDER, help="the tool's own arguments")
    tool.set_defaults(func=lambda args, parser: _kafka_tool(args.name, args.args))


def _version(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    print(f"kpy {__version__}")
    return 0


def _api_versions(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    print(api_versions_table(), end="")
    return 0


def api_versions_table() -> str:
    """The Markdown table of implemented APIs, from the handler registry."""
    from kpy import dispatch
    from kpy.protocol import api_keys

    dispatch.load_handlers()  # the versions answered, beside the advertised floor
    lines = ["| key | API | versions | Kafka 4.0 range |", "| ---: | --- | --- | --- |"]
    for key, reg in sorted(dispatch.REGISTRY.items()):
        info = api_keys.API_KEYS[key]
        versions = f"{reg.min_version}-{reg.max_version}"
        if reg.advertised_min < reg.min_version:
            versions += f" (advertised from {reg.advertised_min})"
        lines.append(f"| {key} | {info.name} | {versions} | {info.kafka4_min}-{info.schema_max} |")
    return "\n".join(lines) + "\n"


def setup_logging(level: str = "INFO") -> None:
    """One line per record on stderr: timestamp, level, logger, message."""
    root = logging.getLogger()
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(getattr(logging, level))


def _serve(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    if args.config and args.config_file:
        parser.error("give the config file once (positional FILE or --config)")
    setup_logging(args.log_level)
    from kpy.config import Config, ConfigError

    try:
        config = Config.from_file(args.config or args.config_file, dict(args.override))
    except ConfigError as exc:
        return _config_error(exc)
    from kpy.server import StartupError, run

    try:
        return run(config)
    except (ConfigError, StartupError) as exc:  # e.g. a data dir of another cluster
        return _config_error(exc)
    except BaseExceptionGroup as group:
        errors, rest = group.split((ConfigError, StartupError))
        if errors is None or rest is not None:
            raise
        return _config_error(_first_leaf(errors))


def _kafka_tool(name: str, tool_args: list[str]) -> int:
    """Replace this process with the tool's JVM (signals and exit code are the tool's)."""
    from kpy.kafka_tool import ToolError, command

    try:
        argv = command(name, tool_args)
    except ToolError as exc:
        print(f"kpy: {exc}", file=sys.stderr)
        return 1
    sys.stdout.flush()
    os.execv(argv[0], argv)
    return 1  # not reached


def _first_leaf(group: BaseException) -> BaseException:
    while isinstance(group, BaseExceptionGroup):
        group = group.exceptions[0]
    return group


def _config_error(exc: BaseException) -> int:
    from kpy.server import StartupError

    cause = "cannot start" if isinstance(exc, StartupError) else "configuration error"
    print(f"kpy: {cause}: {exc}", file=sys.stderr)
    return 1
