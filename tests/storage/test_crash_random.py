"""SIGKILL an idempotent writer at random moments (time-based), many times, within ~15 s.

After each kill the log is reopened (recovery) and checked: every acknowledged batch is there
and intact, the tail holds no partial batch, a retry of the last acknowledged batch is
recognised as a duplicate (producer state survived), and the next writer continues at the
log end offset with the next sequence (it would fail with OUT_OF_ORDER otherwise).
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kpy.protocol import records
from kpy.storage.manager import LogManager
from tests.storage.crash_idempotent_writer import CONFIG, batch_for

ROOT = Path(__file__).resolve().parents[2]


def check_log(data_dir: Path, acked: list[int]) -> int:
    mgr = LogManager([str(data_dir)], default_config=CONFIG)
    mgr.load()
    lg = mgr.get_log("crash", 0)
    assert lg is not None
    for seg in lg.segments:
        data = seg.read_bytes(0, seg.size)
        end = 0
        for pos, h in records.iter_batches(data):
            records.validate_batch(data, pos)
            end = pos + h.size
        assert end == seg.size, f"partial batch at the end of {seg.log_path.name}"
    stored = {}
    offset = 0
    while offset < lg.log_end_offset:
        chunk = lg.read(offset, 1 << 20).records.read()
        for pos, h in records.iter_batches(chunk):
            stored[h.base_offset] = chunk[pos : pos + h.size]
            offset = h.next_offset
    for o in acked:
        expected = bytearray(batch_for(o))
        records.set_offset_and_epoch(expected, 0, o, 0)
        assert stored.get(o) == bytes(expected), f"acknowledged batch at {o} lost or damaged"
    if acked:
        dup = lg.append(batch_for(acked[-1]), leader_epoch=0)
        assert dup.duplicate and dup.base_offset == acked[-1]
    leo = lg.log_end_offset
    mgr.close(clean=False)  # keep the next start an unclean one
    return leo


@pytest.mark.timeout(60)
def test_random_sigkill_loop(tmp_path):
    rng = random.Random(20261123)
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    acked: list[int] = []
    deadline = time.monotonic() + 15
    iterations = 0
    while iterations < 40 and (iterations < 8 or time.monotonic() < deadline):
        iterations += 1
        proc = subprocess.Popen(
            [sys.executable, "-m", "tests.storage.crash_idempotent_writer", str(tmp_path)],
            stdout=subprocess.PIPE,
            cwd=ROOT,
            env=env,
        )
        assert proc.stdout is not None
        assert proc.stdout.readline() == b"ready\n"
        # The kill moment is random wall-clock time after start-up, not a number of acks.
        kill_at = time.monotonic() + rng.uniform(0.0, 0.3)
        while time.monotonic() < kill_at and proc.poll() is None:
            time.sleep(0.005)
        assert proc.poll() is None, "writer died on its own (state lost after a crash?)"
        os.kill(proc.pid, signal.SIGKILL)
        out = proc.stdout.read()
        proc.wait()
        new = [int(x) for x in out.split()]
        if acked and new:
            assert new[0] >= acked[-1] + 2, "writer restarted below an acknowledged offset"
        acked += new
        leo = check_log(tmp_path, acked)
        assert leo >= (acked[-1] + 2 if acked else 0)
    assert len(acked) > iterations
