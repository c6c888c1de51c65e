"""AddPartitionsToTxn (key 24), versions 0-5.

v0-3 (clients) carry one transaction; v4+ carry a batch of transactions, each possibly
``verify_only`` (the form brokers use to check a partition is in a transaction; a partition
that is not answers TRANSACTION_ABORTABLE). v2+ knows PRODUCER_FENCED; older versions get
INVALID_PRODUCER_EPOCH instead.
"""

from __future__ import annotations

from kpy.dispatch import RequestContext, handles
from kpy.protocol.messages.add_partitions_to_txn import (
    AddPartitionsToTxnRequest,
    AddPartitionsToTxnResponse,
)

R = AddPartitionsToTxnResponse


def _topic_results(codes: dict[str, dict[int, int]]) -> list:
    return [
        R.AddPartitionsToTxnTopicResult(
            name=t,
            results_by_partition=[
                R.AddPartitionsToTxnPartitionResult(partition_index=p, partition_error_code=c)
                for p, c in ps.items()
            ],
        )
        for t, ps in codes.items()
    ]


def error_response(req: AddPartitionsToTxnRequest, version: int, code: int) -> R:
    if version >= 4:
        return R(error_code=code)
    codes = {t.name: dict.fromkeys(t.partitions, code) for t in req.v3_and_below_topics}
    return R(results_by_topic_v3_and_below=_topic_results(codes))


@handles(24, 0, 5, error_response=error_response)
async def add_partitions_to_txn(ctx: RequestContext, req: AddPartitionsToTxnRequest) -> R:
    txns = ctx.broker.txns
    if ctx.api_version < 4:
        topics = {t.name: list(t.partitions) for t in req.v3_and_below_topics}
        codes = txns.add_partitions(
            req.v3_and_below_transactional_id,
            req.v3_and_below_producer_id,
            req.v3_and_below_producer_epoch,
            topics,
            ctx.api_version,
        )
        return R(results_by_topic_v3_and_below=_topic_results(codes))
    response = R()
    for txn in req.transactions:
        codes = txns.add_partitions(
            txn.transactional_id,
            txn.producer_id,
            txn.producer_epoch,
            {t.name: list(t.partitions) for t in txn.topics},
            ctx.api_version,
            verify_only=txn.verify_only,
        )
        response.results_by_transaction.append(
            R.AddPartitionsToTxnResult(
                transactional_id=txn.transactional_id, topic_results=_topic_results(codes)
            )
        )
    return response
