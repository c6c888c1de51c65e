"""Property test: random appends, reads, rolls, retention and restarts against a model."""

from __future__ import annotations

import shutil
import tempfile
import uuid
from pathlib import Path

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from kpy.storage.log import LogConfig
from kpy.storage.manager import LogManager
from tests.storage.helpers import Clock, batch, read_values

CONFIG = LogConfig(segment_bytes=600, index_interval_bytes=150, retention_ms=-1)


class LogModel(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.dir = Path(tempfile.mkdtemp(prefix="kpy-model-"))
        self.clock = Clock()
        self.mgr = LogManager([str(self.dir)], default_config=CONFIG, clock=self.clock)
        self.log = self.mgr.create_log("m", 0, uuid.uuid4(), CONFIG)
        self.model: list[bytes] = []  # value by offset
        self.start = 0

    def teardown(self) -> None:
        self.mgr.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    @rule(values=st.lists(st.binary(min_size=1, max_size=80), min_size=1, max_size=5))
    def append(self, values):
        res = self.log.append(batch(values), leader_epoch=0)
        assert res.base_offset == len(self.model)
        self.model.extend(values)

    @rule()
    def roll(self):
        self.log.roll()

    @precondition(lambda self: len(self.model) > self.start)
    @rule(data=st.data())
    def delete_records(self, data):
        offset = data.draw(st.integers(self.start, len(self.model)))
        self.log.delete_records_before(offset)
        self.start = max(self.start, offset)

    @rule(data=st.data())
    def read_from(self, data):
        offset = data.draw(st.integers(self.start, len(self.model)))
        got = read_values(self.log, offset)
        assert got == [(o, self.model[o]) for o in range(offset, len(self.model))]

    @rule(clean=st.booleans())
    def restart(self, clean):
        if clean:
            self.mgr.close()
        else:
            self.mgr.checkpoint()
            for lg in self.mgr.all_logs():
                for seg in lg.segments:
                    seg.close()
        self.mgr = LogManager([str(self.dir)], default_config=CONFIG, clock=self.clock)
        self.mgr.load()
        self.log = self.mgr.get_log("m", 0)

    @invariant()
    def offsets_match(self):
        assert self.log.log_end_offset == len(self.model)
        assert (
            self.log.log_start_offset == self.start
            or self.start == 0
            and self.log.log_start_offset == 0
        )


TestLogModel = LogModel.TestCase
TestLogModel.settings = settings(max_examples=25, stateful_step_count=25, deadline=None)
