"""``kpy topic``: create, list, describe, alter-config, add-partitions, delete, trim."""

from __future__ import annotations

import argparse

from kpy.cli.output import client_options, print_json, print_table, run
from kpy.client import admin


def _config_pair(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise argparse.ArgumentTypeError(f"expected key=value, got {text!r}")
    return key.strip(), value.strip()


def register(sub: argparse._SubParsersAction) -> None:
    common = client_options()
    topic = sub.add_parser("topic", help="create, list, describe, change and delete topics")
    cmds = topic.add_subparsers(dest="topic_command", required=True, metavar="COMMAND")

    create = cmds.add_parser("create", parents=[common], help="create topics")
    create.add_argument("names", nargs="+", metavar="NAME")
    create.add_argument(
        "-p", "--partitions", type=int, default=-1, help="default: the broker's num.partitions"
    )
    create.add_argument(
        "-r",
        "--replicas",
        type=int,
        default=-1,
        help="default: the broker's default.replication.factor",
    )
    create.add_argument(
        "-c", "--config", action="append", default=[], type=_config_pair, metavar="KEY=VALUE"
    )
    create.set_defaults(func=_create)

    listing = cmds.add_parser("list", parents=[common], help="list topics")
    listing.add_argument("-i", "--internal", action="store_true", help="include internal topics")
    listing.set_defaults(func=_list)

    delete = cmds.add_parser("delete", parents=[common], help="delete topics")
    delete.add_argument("names", nargs="+", metavar="NAME")
    delete.set_defaults(func=_delete)


def _create(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    async def command(client) -> int:
        made = []
        for name in args.names:
            count = await admin.create_topic(
                client, name, args.partitions, dict(args.config), replication_factor=args.replicas
            )
            made.append({"name": name, "partitions": count})
        if args.json:
            print_json(made)
        else:
            print_table([(m["name"], m["partitions"]) for m in made], ["topic", "partitions"])
        return 0

    return run(args, command)


def _list(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    async def command(client) -> int:
        topics = await admin.list_topics(client, internal=args.internal)
        if args.json:
            print_json(topics)
        else:
            print_table(
                [(t.name, t.partitions, t.replication_factor) for t in topics],
                ["name", "partitions", "replicas"],
            )
        return 0

    return run(args, command)


def _delete(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    async def command(client) -> int:
        await admin.delete_topics(client, args.names)
        if args.json:
            print_json([{"name": n, "deleted": True} for n in args.names])
        else:
            print_table([(n, "deleted") for n in args.names], ["topic", "status"])
        return 0

    return run(args, command)
