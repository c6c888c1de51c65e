"""DescribeLogDirs (key 35), versions 1-4: partition sizes per log dir (v4: disk space).

As Kafka, an offline log dir (after an I/O error, see kpy/storage/log_dir_failure.py) is
listed with KAFKA_STORAGE_ERROR and no partitions or sizes.
"""

from __future__ import annotations

import os
from pathlib import Path

from kpy.dispatch import RequestContext, handles
from kpy.protocol.error_codes import ErrorCode
from kpy.protocol.messages.describe_log_dirs import DescribeLogDirsRequest, DescribeLogDirsResponse


@handles(35, 1, 4)
async def describe_log_dirs(
    ctx: RequestContext, req: DescribeLogDirsRequest
) -> DescribeLogDirsResponse:
    broker = ctx.broker
    wanted = None
    if req.topics is not None:
        wanted = {(t.topic, p) for t in req.topics for p in t.partitions}
    results = {}
    offline = broker.logs.failures.offline
    for d in broker.config.log_dirs():
        path = os.path.abspath(d)
        if str(Path(d)) in offline:
            results[path] = DescribeLogDirsResponse.DescribeLogDirsResult(
                log_dir=path, error_code=ErrorCode.KAFKA_STORAGE_ERROR
            )
            continue
        st = os.statvfs(path)
        results[path] = DescribeLogDirsResponse.DescribeLogDirsResult(
            log_dir=path,
            total_bytes=st.f_blocks * st.f_frsize,
            usable_bytes=st.f_bavail * st.f_frsize,
        )
    topics: dict[tuple[str, str], object] = {}
    for log in broker.logs.all_logs():
        if (wanted is not None and (log.topic, log.partition) not in wanted) or log.offline:
            continue
        result = results.get(os.path.abspath(log.log_dir)) or next(iter(results.values()))
        key = (result.log_dir, log.topic)
        entry = topics.get(key)
        if entry is None:
            entry = DescribeLogDirsResponse.DescribeLogDirsTopic(name=log.topic)
            topics[key] = entry
            result.topics.append(entry)
        entry.partitions.append(
            DescribeLogDirsResponse.DescribeLogDirsPartition(
                partition_index=log.partition, partition_size=log.size_in_bytes(), offset_lag=0
            )
        )
    return DescribeLogDirsResponse(results=list(results.values()))
