"""Child process for test_crash_random: an idempotent producer (id 1, epoch 0) appending
2-record batches whose sequence equals their base offset, printing each acked offset.
Every 50 batches it flushes and checkpoints, so restarts also use a recovery point."""

from __future__ import annotations

import sys

from kpy.storage.log import LogConfig
from kpy.storage.manager import LogManager
from tests.storage.conftest import TOPIC_ID, make_batch

CONFIG = LogConfig(segment_bytes=4_000, index_interval_bytes=300)


def batch_for(offset: int) -> bytearray:
    return make_batch(
        2, value=b"value-%d-" % offset + b"x" * (offset % 200), producer_id=1, epoch=0, seq=offset
    )


if __name__ == "__main__":
    mgr = LogManager([sys.argv[1]], default_config=CONFIG)
    mgr.load()
    log = mgr.get_log("crash", 0) or mgr.create_log("crash", 0, TOPIC_ID, CONFIG)
    print("ready", flush=True)
    n = 0
    while True:
        res = log.append(batch_for(log.log_end_offset), leader_epoch=0)
        print(res.base_offset, flush=True)
        n += 1
        if n % 50 == 0:
            log.flush()
            mgr.checkpoint()
