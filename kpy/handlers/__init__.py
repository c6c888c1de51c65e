"""One module per Kafka API, named by its key, imported on the first request of that API.

Start-up does not import the handlers (nor, through them, the message classes): dispatch
imports a module when its API is first asked for. ``HANDLERS`` maps each implemented API key
to its module and to the range that module registers with ``@handles`` for ApiVersions (the
advertised floor, which may be below the lowest version answered, and the highest), so
ApiVersions and ``kpy api-versions`` answer without importing anything. The registrations
stay the source of truth: tests/test_dispatch.py imports every module and checks this table
against them.
"""

from __future__ import annotations

import importlib

# api key -> (module, advertised min version, max version), as its @handles registers them
HANDLERS: dict[int, tuple[str, int, int]] = {
    0: ("api_00_produce", 0, 11),
    1: ("api_01_fetch", 4, 17),
    2: ("api_02_list_offsets", 1, 10),
    3: ("api_03_metadata", 0, 12),
    8: ("api_08_offset_commit", 2, 9),
    9: ("api_09_offset_fetch", 1, 9),
    10: ("api_10_find_coordinator", 0, 6),
    11: ("api_11_join_group", 0, 9),
    12: ("api_12_heartbeat", 0, 4),
    13: ("api_13_leave_group", 0, 5),
    14: ("api_14_sync_group", 0, 5),
    15: ("api_15_describe_groups", 0, 5),
    16: ("api_16_list_groups", 0, 5),
    18: ("api_18_api_versions", 0, 4),
    19: ("api_19_create_topics", 2, 7),
    20: ("api_20_delete_topics", 1, 6),
    21: ("api_21_delete_records", 0, 2),
    22: ("api_22_init_producer_id", 0, 5),
    23: ("api_23_offset_for_leader_epoch", 0, 4),
    24: ("api_24_add_partitions_to_txn", 0, 5),
    25: ("api_25_add_offsets_to_txn", 0, 4),
    26: ("api_26_end_txn", 0, 4),
    28: ("api_28_txn_offset_commit", 0, 4),
    32: ("api_32_describe_configs", 0, 4),
    33: ("api_33_alter_configs", 0, 2),
    35: ("api_35_describe_log_dirs", 1, 4),
    37: ("api_37_create_partitions", 0, 3),
    42: ("api_42_delete_groups", 0, 2),
    43: ("api_43_elect_leaders", 0, 2),
    44: ("api_44_incremental_alter_configs", 0, 1),
    47: ("api_47_offset_delete", 0, 0),
    60: ("api_60_describe_cluster", 0, 1),
    61: ("api_61_describe_producers", 0, 0),
    65: ("api_65_describe_transactions", 0, 0),
    66: ("api_66_list_transactions", 0, 1),
    68: ("api_68_consumer_group_heartbeat", 0, 1),
    69: ("api_69_consumer_group_describe", 0, 0),
    75: ("api_75_describe_topic_partitions", 0, 0),
}


def import_handler(api_key: int) -> None:
    """Import the module of ``api_key`` (which registers its handler); unknown keys are a no-op."""
    entry = HANDLERS.get(api_key)
    if entry is not None:
        importlib.import_module(f"{__name__}.{entry[0]}")


def import_all() -> None:
    for key in HANDLERS:
        import_handler(key)
