"""``kpy cluster info``: brokers, controller, cluster id, features and API versions."""

from __future__ import annotations

import argparse

from kpy.cli.output import client_options, print_fields, print_json, print_table, run
from kpy.client import admin


def register(sub: argparse._SubParsersAction) -> None:
    common = client_options()
    cluster = sub.add_parser("cluster", help="describe the cluster")
    cmds = cluster.add_subparsers(dest="cluster_command", required=True, metavar="COMMAND")
    info = cmds.add_parser(
        "info",
        parents=[common],
        help="brokers, controller, cluster id and features",
        description="The cluster's id, controller and brokers (DescribeCluster), and the "
        "features and API versions of the broker kpy talks to (ApiVersions). --apis adds "
        "the API table; --json gives everything.",
    )
    info.add_argument(
        "--apis", action="store_true", help="also list the API versions the broker speaks"
    )
    info.set_defaults(func=_info)


def _info(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    async def command(client) -> int:
        cluster = await admin.describe_cluster(client)
        if args.json:
            print_json(cluster)
            return 0
        print_fields(
            [
                ("cluster id", cluster.cluster_id),
                ("controller", cluster.controller_id),
                ("brokers", len(cluster.brokers)),
            ]
        )
        print()
        print_table(
            [(b.id, b.host, b.port, b.rack) for b in cluster.brokers],
            ["id", "host", "port", "rack"],
        )
        print()
        if cluster.features:
            print_table(
                [
                    (f.name, f.finalized_level, _span(f.supported_min, f.supported_max))
                    for f in cluster.features
                ],
                ["feature", "finalized", "supported"],
            )
        else:
            print("(the broker reports no features)")
        if args.apis:
            print()
            print_table(
                [(a.key, a.name, a.min_version, a.max_version) for a in cluster.apis],
                ["key", "api", "min", "max"],
            )
        return 0

    return run(args, command)


def _span(low: int | None, high: int | None) -> str | None:
    return None if low is None or high is None else f"{low}-{high}"
