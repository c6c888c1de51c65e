"""``kpy group``: list, describe, seek and delete consumer groups (kafka-consumer-groups.sh's
--list, --describe, --reset-offsets and --delete)."""

from __future__ import annotations

import argparse

from kpy.cli.output import client_options, fail, print_json, print_table, run
from kpy.client import groups
from kpy.client.groups import SeekTarget


def _names(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def _partitions(text: str) -> list[int]:
    try:
        return sorted({int(p) for p in _names(text)})
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected partition numbers like 0,1, got {text!r}"
        ) from None


def _target(text: str) -> SeekTarget:
    try:
        return SeekTarget.parse(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def register(sub: argparse._SubParsersAction) -> None:
    common = client_options()
    group = sub.add_parser("group", help="list, describe, seek and delete consumer groups")
    cmds = group.add_subparsers(dest="group_command", required=True, metavar="COMMAND")

    listing = cmds.add_parser("list", parents=[common], help="list the cluster's groups")
    listing.add_argument(
        "--state",
        action="append",
        default=[],
        type=_names,
        metavar="STATE",
        help="only groups in these states (Stable, Empty, ...; comma-separated or repeated)",
    )
    listing.add_argument(
        "--type",
        action="append",
        default=[],
        type=_names,
        metavar="TYPE",
        help="only groups of these types (classic, consumer, share, streams)",
    )
    listing.set_defaults(func=_list)

    describe = cmds.add_parser(
        "describe", parents=[common], help="members, committed offsets and lag of groups"
    )
    describe.add_argument("groups", nargs="+", metavar="GROUP")
    describe.set_defaults(func=_describe)

    seek = cmds.add_parser(
        "seek", parents=[common], help="move a group's committed offsets (the group must be empty)"
    )
    seek.add_argument("group", metavar="GROUP")
    seek.add_argument(
        "--to",
        required=True,
        type=_target,
        metavar="WHERE",
        help="earliest, latest, an offset, or @TIMESTAMP (milliseconds or an ISO date-time)",
    )
    seek.add_argument(
        "--topic",
        action="append",
        default=[],
        metavar="TOPIC[:P,P]",
        help="topics to move (repeatable; default: those the group committed offsets for)",
    )
    seek.add_argument(
        "--partitions",
        type=_partitions,
        metavar="P,P",
        help="only these partitions of the one --topic",
    )
    seek.add_argument("--dry-run", action="store_true", help="show the new offsets, commit nothing")
    seek.set_defaults(func=_seek)

    delete = cmds.add_parser("delete", parents=[common], help="delete groups without members")
    delete.add_argument("groups", nargs="+", metavar="GROUP")
    delete.set_defaults(func=_delete)


def _list(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    async def command(client) -> int:
        found = await groups.list_groups(
            client,
            states=[s for names in args.state for s in names],
            types=[t for names in args.type for t in names],
        )
        if args.json:
            print_json(found)
        else:
            print_table(
                [(g.group_id, g.type, g.state, g.protocol_type) for g in found],
                ["group", "type", "state", "protocol-type"],
            )
        return 0

    return run(args, command)


def _describe(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    async def command(client) -> int:
        described = await groups.describe_groups(client, args.groups)
        if args.json:
            print_json(described)
            return 0
        for i, d in enumerate(described):
            if i:
                print()
            _print_description(d)
        return 0

    return run(args, command)


def _print_description(d: groups.GroupDescription) -> None:
    c = d.coordinator
    print(
        f"group {d.group_id}: {d.type} group, {d.state}, protocol {d.protocol_type or '-'}"
        f" ({d.assignor or '-'}), coordinator {c.node_id} ({c.host}:{c.port}),"
        f" {len(d.members)} member{'' if len(d.members) == 1 else 's'}"
    )
    if d.members:
        print()
        print_table(
            [
                (
                    m.member_id,
                    m.client_id,
                    m.host,
                    m.instance_id or "-",
                    _assignment_text(m.assignment),
                )
                for m in d.members
            ],
            ["member-id", "client-id", "host", "instance-id", "partitions"],
        )
    print()
    rows = [
        (
            r.topic,
            r.partition,
            r.current_offset,
            r.log_end_offset,
            r.lag,
            r.member_id or "-",
            r.host or "-",
            r.client_id or "-",
        )
        for r in d.offsets
    ]
    rows.append(("TOTAL", None, None, None, d.total_lag, "", "", ""))
    print_table(
        rows,
        [
            "topic",
            "partition",
            "current-offset",
            "log-end-offset",
            "lag",
            "consumer-id",
            "host",
            "client-id",
        ],
    )


def _assignment_text(assignment: dict[str, list[int]]) -> str:
    return " ".join(f"{t}:{','.join(map(str, ps))}" for t, ps in assignment.items()) or "-"


def _seek_topics(
    args: argparse.Namespace, parser: argparse.ArgumentParser
) -> dict[str, list[int] | None] | None:
    if not args.topic:
        if args.partitions is not None:
            parser.error("--partitions needs one --topic")
        return None
    topics: dict[str, list[int] | None] = {}
    for spec in args.topic:
        name, sep, parts = spec.partition(":")
        try:
            topics[name] = _partitions(parts) if sep else None
        except argparse.ArgumentTypeError as exc:
            parser.error(str(exc))
    if args.partitions is not None:
        if len(topics) != 1:
            parser.error("--partitions needs exactly one --topic")
        topics = {name: args.partitions for name in topics}
    return topics


def _seek(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    topics = _seek_topics(args, parser)

    async def command(client) -> int:
        changes = await groups.seek_offsets(
            client, args.group, args.to, topics, dry_run=args.dry_run
        )
        if args.json:
            print_json({"group_id": args.group, "dry_run": args.dry_run, "offsets": changes})
        else:
            print_table(
                [(c.topic, c.partition, c.current_offset, c.new_offset) for c in changes],
                ["topic", "partition", "current-offset", "new-offset"],
            )
            if args.dry_run:
                print("(dry run: nothing committed)")
        return 0

    return run(args, command)


_DELETE_ERRORS = {
    "NON_EMPTY_GROUP": "still has members",
    "GROUP_ID_NOT_FOUND": "does not exist",
}


def _delete(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    async def command(client) -> int:
        results = await groups.delete_groups(client, args.groups)
        if args.json:
            print_json(results)
        else:
            deleted = [(r.group_id, "deleted") for r in results if r.error is None]
            if deleted:
                print_table(deleted, ["group", "status"])
        failed = [r for r in results if r.error is not None]
        for r in failed:
            why = _DELETE_ERRORS.get(r.error or "", "could not be deleted")
            fail(f"{r.error}: group {r.group_id!r} {why}")
        return 1 if failed else 0

    return run(args, command)
