"""SIGKILL a writer at random moments: every acknowledged batch survives, intact."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from kpy.protocol import records
from kpy.storage.log import LogConfig
from kpy.storage.manager import LogManager
from tests.storage.helpers import read_values

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.timeout(90)
def test_kill_minus_nine_loses_nothing_acknowledged(tmp_path):
    rng = random.Random(1234)
    acked: list[int] = []
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    for _ in range(12):
        proc = subprocess.Popen(
            [sys.executable, "-m", "tests.storage.crash_writer", str(tmp_path)],
            stdout=subprocess.PIPE,
            cwd=ROOT,
            env=env,
        )
        # Let it write for a random while: until a random number of acks has been seen.
        target = rng.randint(1, 400)
        seen = 0
        assert proc.stdout is not None
        while seen < target:
            line = proc.stdout.readline()
            if not line:
                break
            acked.append(int(line))
            seen += 1
        os.kill(proc.pid, signal.SIGKILL)
        # Acks printed before the kill are still in the pipe.
        for line in proc.stdout.read().splitlines():
            acked.append(int(line))
        proc.wait()

        mgr = LogManager([str(tmp_path)], default_config=LogConfig(segment_bytes=20_000))
        mgr.load()
        log = mgr.get_log("crash", 0)
        values = dict(read_values(log))
        for offset in acked:
            assert values.get(offset) == b"value-%d" % offset
        # No partial batch: every segment is whole batches that pass their CRC.
        for seg in log.segments:
            data = seg.read_bytes(0, seg.size)
            end = 0
            for pos, h in records.iter_batches(data):
                records.validate_batch(data, pos)
                end = pos + h.size
            assert end == seg.size
        assert log.log_end_offset >= (acked[-1] + 2 if acked else 0)
        for seg in log.segments:
            seg.close()
    assert len(acked) > 12
