"""DescribeTransactions (key 65), version 0: the coordinator's view of transactional ids."""

from __future__ import annotations

from kpy.coordinator.txn_state import STATE_NAMES
from kpy.dispatch import RequestContext, handles
from kpy.protocol.error_codes import ErrorCode
from kpy.protocol.messages.describe_transactions import (
    DescribeTransactionsRequest,
    DescribeTransactionsResponse,
)

R = DescribeTransactionsResponse


@handles(65, 0, 0)
async def describe_transactions(ctx: RequestContext, req: DescribeTransactionsRequest) -> R:
    response = R()
    for tid in req.transactional_ids:
        txn = ctx.broker.txns.describe(tid) if tid else None
        if txn is None:
            # Kafka leaves the other fields at their defaults.
            code = ErrorCode.TRANSACTIONAL_ID_NOT_FOUND if tid else ErrorCode.INVALID_REQUEST
            response.transaction_states.append(
                R.TransactionState(error_code=code, transactional_id=tid)
            )
            continue
        by_topic: dict[str, list[int]] = {}
        for t, p in sorted(txn.partitions):
            by_topic.setdefault(t, []).append(p)
        response.transaction_states.append(
            R.TransactionState(
                transactional_id=tid,
                transaction_state=STATE_NAMES[txn.state],
                transaction_timeout_ms=txn.timeout_ms,
                transaction_start_time_ms=txn.start_ms,
                producer_id=txn.producer_id,
                producer_epoch=txn.producer_epoch,
                topics=[R.TopicData(topic=t, partitions=ps) for t, ps in by_topic.items()],
            )
        )
    return response
