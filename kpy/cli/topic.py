"""``kpy topic``: create, list, describe, alter-config, add-partitions, delete, trim."""

from __future__ import annotations

import argparse

from kpy.cli.output import client_options, fail, plain, print_fields, print_json, print_table, run
from kpy.client import ClientError, admin


def _config_pair(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise argparse.ArgumentTypeError(f"expected key=value, got {text!r}")
    return key.strip(), value.strip()


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a number of at least 1, got {value}")
    return value


def _trim_offset(text: str) -> int:
    if text == "end":
        return admin.HIGH_WATERMARK
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an offset or 'end', got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected an offset of at least 0, got {value}")
    return value


def register(sub: argparse._SubParsersAction) -> None:
    common = client_options()
    dry_run = argparse.ArgumentParser(add_help=False)
    dry_run.add_argument(
        "--dry-run",
        action="store_true",
        help="have the broker validate the request without applying it",
    )
    topic = sub.add_parser("topic", help="create, list, describe, change and delete topics")
    cmds = topic.add_subparsers(dest="topic_command", required=True, metavar="COMMAND")

    create = cmds.add_parser("create", parents=[common, dry_run], help="create topics")
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

    describe = cmds.add_parser(
        "describe",
        parents=[common],
        help="partitions, offsets, sizes and configs of a topic",
        description="A topic's partitions (leader, replicas, in-sync replicas, log start "
        "offset, high watermark, size on disk) and the configs that differ from Kafka's "
        "defaults, with where each value comes from. --json gives every config.",
    )
    describe.add_argument("name", metavar="NAME")
    describe.add_argument(
        "-a", "--all-configs", action="store_true", help="list every config, defaults too"
    )
    describe.set_defaults(func=_describe)

    alter = cmds.add_parser(
        "alter-config",
        parents=[common, dry_run],
        help="set or delete configs of a topic",
        description="Set configs (-c) and delete them back to their defaults (--delete); "
        "configs not named stay as they are (IncrementalAlterConfigs).",
    )
    alter.add_argument("name", metavar="NAME")
    alter.add_argument(
        "-c", "--config", action="append", default=[], type=_config_pair, metavar="KEY=VALUE"
    )
    alter.add_argument("--delete", action="append", default=[], metavar="KEY")
    alter.set_defaults(func=_alter_config, usage=alter)

    add = cmds.add_parser(
        "add-partitions",
        parents=[common, dry_run],
        help="add partitions to a topic",
        description="Add N partitions to a topic: -n is how many to add (as rpk's), not the "
        "new total (as kafka-topics --partitions). Kafka never removes partitions.",
    )
    add.add_argument("name", metavar="NAME")
    add.add_argument(
        "-n", "--num", type=_positive, required=True, metavar="N", help="partitions to add"
    )
    add.set_defaults(func=_add_partitions)

    delete = cmds.add_parser("delete", parents=[common], help="delete topics")
    delete.add_argument("names", nargs="+", metavar="NAME")
    delete.set_defaults(func=_delete)

    trim = cmds.add_parser(
        "trim",
        parents=[common],
        help="delete the records of a partition before an offset",
        description="Delete the records of partitions before OFFSET (DeleteRecords): the "
        "log start offset (low watermark) moves up to it; 'end' deletes up to the high "
        "watermark. Prints each partition's new low watermark.",
    )
    trim.add_argument("name", metavar="NAME")
    trim.add_argument(
        "-p",
        "--partition",
        type=int,
        action="append",
        required=True,
        metavar="P",
        help="a partition (repeat for several)",
    )
    trim.add_argument(
        "-o", "--offset", type=_trim_offset, required=True, metavar="OFFSET", help="or 'end'"
    )
    trim.set_defaults(func=_trim)


def _create(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    async def command(client) -> int:
        # Each name is tried, as rpk does and as `topic delete` does: the created ones in the
        # output, a line on stderr for each failure, exit 1 if any.
        made, failures = [], []
        for name in args.names:
            try:
                count = await admin.create_topic(
                    client,
                    name,
                    args.partitions,
                    dict(args.config),
                    replication_factor=args.replicas,
                    validate_only=args.dry_run,
                )
            except ClientError as exc:
                failures.append(exc)
                continue
            made.append({"name": name, "partitions": count, "dry_run": args.dry_run})
        if args.json:
            print_json(made)
        elif made:
            status = "valid (dry run)" if args.dry_run else "created"
            print_table(
                [(m["name"], m["partitions"], status) for m in made],
                ["topic", "partitions", "status"],
            )
        for exc in failures:
            fail(str(exc))
        return 1 if failures else 0

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


def _describe(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    async def command(client) -> int:
        topic = await admin.describe_topic(client, args.name)
        if args.json:
            print_json(topic)
            return 0
        print_fields(
            [
                ("name", topic.name),
                ("topic id", topic.topic_id),
                ("internal", topic.internal),
                ("partitions", len(topic.partitions)),
                ("replicas", topic.replication_factor),
                ("size", f"{topic.size_bytes} bytes"),
            ]
        )
        print()
        print_table(
            [
                (
                    p.partition,
                    p.leader,
                    p.leader_epoch,
                    _nodes(p.replicas),
                    _nodes(p.isr),
                    p.log_start_offset,
                    p.high_watermark,
                    p.size_bytes,
                )
                for p in topic.partitions
            ],
            [
                "partition",
                "leader",
                "epoch",
                "replicas",
                "isr",
                "log-start",
                "high-watermark",
                "bytes",
            ],
        )
        configs = topic.configs if args.all_configs else topic.overrides()
        print()
        if configs:
            print_table(
                [(c.name, "<sensitive>" if c.sensitive else c.value, c.source) for c in configs],
                ["config", "value", "source"],
            )
        else:
            print("(every config at its default)")
        return 0

    return run(args, command)


def _nodes(ids: list[int]) -> str:
    return ",".join(str(i) for i in ids) or "-"


def _alter_config(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    if not args.config and not args.delete:
        args.usage.error("give at least one -c KEY=VALUE or --delete KEY")
    settings = dict(args.config)

    async def command(client) -> int:
        await admin.alter_topic_config(
            client, args.name, settings, args.delete, validate_only=args.dry_run
        )
        if args.json:
            print_json(
                {
                    "name": args.name,
                    "set": settings,
                    "deleted": args.delete,
                    "dry_run": args.dry_run,
                }
            )
            return 0
        suffix = " (dry run)" if args.dry_run else ""
        rows = [(k, v, "set" + suffix) for k, v in settings.items()]
        rows += [(k, None, "deleted" + suffix) for k in args.delete]
        print_table(rows, ["config", "value", "change"])
        return 0

    return run(args, command)


def _add_partitions(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    async def command(client) -> int:
        added = await admin.add_partitions(client, args.name, args.num, validate_only=args.dry_run)
        if args.json:
            print_json({**plain(added), "dry_run": args.dry_run})
        else:
            status = "valid (dry run)" if args.dry_run else "added"
            print_table(
                [(added.name, added.before, added.after, status)],
                ["topic", "before", "after", "status"],
            )
        return 0

    return run(args, command)


def _delete(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    async def command(client) -> int:
        # Each name is tried (one DeleteTopics, as kafka-topics sends); each failure is a line
        # on stderr and makes the exit code 1.
        results = await admin.delete_each_topic(client, args.names)
        deleted = [n for n, e in results.items() if e is None]
        if args.json:
            print_json(
                [
                    {"name": n, "deleted": e is None, "error": e.name if e else None}
                    for n, e in results.items()
                ]
            )
        elif deleted:
            print_table([(n, "deleted") for n in deleted], ["topic", "status"])
        for error in results.values():
            if error is not None:
                fail(str(error))
        return 1 if len(deleted) < len(results) else 0

    return run(args, command)


def _trim(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    async def command(client) -> int:
        offsets = dict.fromkeys(args.partition, args.offset)
        low = await admin.delete_records(client, args.name, offsets)
        rows = [{"partition": p, "low_watermark": w} for p, w in low.items()]
        if args.json:
            print_json({"name": args.name, "partitions": rows})
        else:
            print_table(
                [(r["partition"], r["low_watermark"]) for r in rows], ["partition", "low-watermark"]
            )
        return 0

    return run(args, command)
