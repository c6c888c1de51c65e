"""The broker appends and reads on its event loop thread while retention and flushes run in
worker threads: reads stay consistent and nothing breaks."""

from __future__ import annotations

import threading

import pytest

from kpy.protocol import records
from kpy.protocol.error_codes import ErrorCode, KafkaError
from kpy.storage.log import LogConfig
from tests.storage.conftest import make_batch


@pytest.mark.timeout(60)
def test_append_and_read_while_retention_and_flush_run_in_threads(new_log):
    cfg = LogConfig(segment_bytes=1500, index_interval_bytes=200, retention_bytes=6000)
    m, lg = new_log(cfg)
    stop = threading.Event()
    errors: list[BaseException] = []

    def housekeeping() -> None:
        try:
            while not stop.is_set():
                lg.apply_retention(0)
                lg.flush()
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)

    worker = threading.Thread(target=housekeeping)
    worker.start()
    try:
        for i in range(3000):
            res = lg.append(make_batch(2, value=b"%06d" % i + b"x" * 100), leader_epoch=0)
            assert res.base_offset == 2 * i
            while True:
                start = lg.log_start_offset
                try:
                    got = lg.read(start, 10_000)
                    break
                except KafkaError as exc:
                    # Retention moved the start between the two lines: Kafka's answer too.
                    assert exc.code == ErrorCode.OFFSET_OUT_OF_RANGE
            data = got.records.read()
            assert data, "a read at the log start offset returned nothing"
            h = records.validate_batch(data)
            # The first batch returned holds the requested offset (no segment was skipped).
            assert h.base_offset <= max(start, got.first_offset) <= h.last_offset
    finally:
        stop.set()
        worker.join()
    assert not errors, errors
    lg.apply_retention(0)
    assert len(lg.segments) <= 6 and lg.log_start_offset > 0
    m.close()
