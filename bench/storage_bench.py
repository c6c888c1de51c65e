"""Storage micro-benchmark (not a test): append and read MB/s, reopen time.

python bench/storage_bench.py
"""

from __future__ import annotations

import logging
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from kpy.protocol import records  # noqa: E402
from kpy.protocol.records import Record  # noqa: E402
from kpy.storage.log import LogConfig  # noqa: E402
from kpy.storage.manager import LogManager  # noqa: E402


def one_mib_batch() -> bytearray:
    recs = [Record(None, b"x" * 1024, [], i, 0) for i in range(1000)]
    return records.build_batch(recs, base_timestamp=int(time.time() * 1000))


def main() -> None:
    logging.disable(logging.WARNING)  # recovery warnings are expected here
    template = one_mib_batch()
    with tempfile.TemporaryDirectory() as d:
        mgr = LogManager([d], default_config=LogConfig(segment_bytes=256 << 20))
        log = mgr.create_log("bench", 0, uuid.uuid4())
        n = 512
        started = time.perf_counter()
        for _ in range(n):
            log.append(bytearray(template), leader_epoch=0)
        append_s = time.perf_counter() - started
        total = n * len(template)
        print(f"append: {total / append_s / 1e6:.0f} MB/s ({n} batches of {len(template)} bytes)")
        started = time.perf_counter()
        offset, read = 0, 0
        while offset < log.log_end_offset:
            res = log.read(offset, 4 << 20)
            data = res.records.read()
            read += len(data)
            last = None
            for _, h in records.iter_batches(data):
                last = h
            offset = last.next_offset
        read_s = time.perf_counter() - started
        print(f"read (pread, page cache): {read / read_s / 1e6:.0f} MB/s")
        mgr.close()
    with tempfile.TemporaryDirectory() as d:
        small = records.build_batch([Record(b"k", b"v" * 100, [])])
        config = LogConfig(segment_bytes=2000)
        mgr = LogManager([d], default_config=config)
        log = mgr.create_log("bench", 0, uuid.uuid4(), config)
        while len(log.segments) < 1000:
            log.append(bytearray(small), leader_epoch=0)
        mgr.close()
        started = time.perf_counter()
        mgr = LogManager([d], default_config=config)
        mgr.load()
        print(f"reopen 1,000 segments (clean): {(time.perf_counter() - started) * 1000:.0f} ms")
        mgr.close()
        os.unlink(Path(d) / ".kafka_cleanshutdown")
        started = time.perf_counter()
        mgr = LogManager([d], default_config=config)
        mgr.load()
        print(
            "reopen 1,000 segments (after crash, recovery point at the end): "
            f"{(time.perf_counter() - started) * 1000:.0f} ms"
        )
        mgr.close(clean=False)
        # No recovery point at all: every batch of every segment is CRC-checked again.
        os.unlink(Path(d) / "recovery-point-offset-checkpoint")
        started = time.perf_counter()
        mgr = LogManager([d], default_config=config)
        mgr.load()
        print(
            "reopen 1,000 segments (after crash, no checkpoint, all re-validated): "
            f"{(time.perf_counter() - started) * 1000:.0f} ms"
        )
        mgr.close()


if __name__ == "__main__":
    main()
