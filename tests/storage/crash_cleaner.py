"""Child process for the cleaner crash test: ``setup`` writes a keyed log, ``clean`` cleans
it over and over (every pass rewrites and swaps segments) until it is SIGKILLed."""

from __future__ import annotations

import sys
import uuid
from pathlib import Path

from kpy.protocol import records
from kpy.protocol.records import Record
from kpy.storage import cleaner
from kpy.storage.log import Log, LogConfig
from kpy.storage.manager import LogManager

CONFIG = LogConfig(
    cleanup_policy=("compact",),
    segment_bytes=4000,
    min_cleanable_dirty_ratio=0.0,
    delete_retention_ms=3_600_000,
)
KEYS = 40
WRITES = 3000


def value_of(i: int) -> bytes | None:
    return None if i % 11 == 0 else b"value-%d" % i


def expected_latest() -> dict[bytes, bytes | None]:
    return {b"key-%d" % (i % KEYS): value_of(i) for i in range(WRITES)}


def open_log(data_dir: Path) -> tuple[LogManager, Log]:
    mgr = LogManager([str(data_dir)], default_config=CONFIG)
    mgr.load(lambda _t: CONFIG)
    lg = mgr.get_log("crash", 0)
    assert lg is not None
    return mgr, lg


def setup(data_dir: Path) -> None:
    mgr = LogManager([str(data_dir)], default_config=CONFIG)
    lg = mgr.create_log("crash", 0, uuid.uuid4(), CONFIG)
    for i in range(WRITES):
        rec = Record(b"key-%d" % (i % KEYS), value_of(i), [], 0, 0)
        lg.append(records.build_batch([rec], base_timestamp=1_700_000_000_000), leader_epoch=0)
    mgr.close()


def clean_forever(data_dir: Path) -> None:
    mgr, lg = open_log(data_dir)
    print("ready", flush=True)
    now = 1_700_000_000_000
    first_dirty = 0
    while True:
        res = cleaner.clean_log(lg, now, first_dirty, max_segments=2, force=True)
        first_dirty = res.first_dirty if res is not None else 0
        if first_dirty >= lg.active.base_offset:
            first_dirty = 0


if __name__ == "__main__":
    target = Path(sys.argv[1])
    if sys.argv[2] == "setup":
        setup(target)
    else:
        clean_forever(target)
