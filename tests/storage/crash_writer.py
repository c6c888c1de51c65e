"""Child process for the crash test: appends batches forever, printing each acked offset."""

from __future__ import annotations

import sys
import uuid

from kpy.storage.log import LogConfig
from kpy.storage.manager import LogManager
from tests.storage.helpers import batch

if __name__ == "__main__":
    data_dir = sys.argv[1]
    config = LogConfig(segment_bytes=20_000, index_interval_bytes=500)
    mgr = LogManager([data_dir], default_config=config)
    mgr.load()
    log = mgr.get_log("crash", 0) or mgr.create_log("crash", 0, uuid.uuid4(), config)
    i = log.log_end_offset
    while True:
        res = log.append(batch([b"value-%d" % i, b"x" * (i % 300)]), leader_epoch=0)
        # Acknowledged: in the OS page cache, which survives a process crash.
        print(res.base_offset, flush=True)
        i += 2
