"""AddPartitionsToTxn (key 24), versions 0-5.

v0-3 (clients) carry one transaction; v4+ carry a batch of transactions, each possibly
``verify_only`` (the form brokers use to check a partition is in a transaction; a partition
that is not answers TRANSACTION_ABORTABLE). v2+ knows PRODUCER_FENCED; older versions get
INVALID_PRODUCER_EPOCH instead.

As in Kafka, an answer with one error code for the whole transaction repeats the topics and
partitions as asked (a topic named twice, or without partitions, too); an answer per partition
(an unknown partition, ``verify_only``) lists each partition once, by topic.
"""

from __future__ import annotations

from kpy.dispatch import RequestContext, handles
from kpy.handlers.errors import ItemError
from kpy.protocol.error_codes import ErrorCode
from kpy.protocol.messages.add_partitions_to_txn import (
    AddPartitionsToTxnRequest,
    AddPartitionsToTxnResponse,
)

R = AddPartitionsToTxnResponse


def _topic_result(name: str, codes: list[tuple[int, int]]) -> R.AddPartitionsToTxnTopicResult:
    return R.AddPartitionsToTxnTopicResult(
        name=name,
        results_by_partition=[
            R.AddPartitionsToTxnPartitionResult(partition_index=p, partition_error_code=c)
            for p, c in codes
        ],
    )


def _topic_results(topics: list, codes: int | dict[tuple[str, int], int]) -> list:
    """One code for every partition as asked, or a code per partition, by topic."""
    if isinstance(codes, int):
        return [_topic_result(t.name, [(p, codes) for p in t.partitions]) for t in topics]
    by_topic: dict[str, list[tuple[int, int]]] = {}
    for (t, p), code in codes.items():
        by_topic.setdefault(t, []).append((p, code))
    return [_topic_result(t, ps) for t, ps in by_topic.items()]


def _partitions(topics: list) -> list[tuple[str, int]]:
    return [(t.name, p) for t in topics for p in t.partitions]


@handles(24, 0, 5)
async def add_partitions_to_txn(ctx: RequestContext, req: AddPartitionsToTxnRequest) -> R:
    txns = ctx.broker.txns
    if ctx.api_version < 4:
        # A refusal of the transaction is dispatch's: every partition as asked, with its code.
        codes = txns.add_partitions(
            req.v3_and_below_transactional_id,
            req.v3_and_below_producer_id,
            req.v3_and_below_producer_epoch,
            _partitions(req.v3_and_below_topics),
            ctx.api_version,
        )
        return R(
            results_by_topic_v3_and_below=_topic_results(
                req.v3_and_below_topics, ErrorCode.NONE if codes is None else codes
            )
        )
    response = R()
    # As in Kafka, a transactional id named more than once in a batch is still answered once
    # per entry, each with its own producer and verify_only, but all on the partitions of the
    # id's last entry; an answer of one code repeats the topics of the id's first entry.
    last = {txn.transactional_id: txn.topics for txn in req.transactions}
    first: dict[str, list] = {}
    for txn in req.transactions:
        first.setdefault(txn.transactional_id, txn.topics)
    for txn in req.transactions:
        partitions = _partitions(last[txn.transactional_id])
        with ItemError() as refused:
            codes = txns.add_partitions(
                txn.transactional_id,
                txn.producer_id,
                txn.producer_epoch,
                partitions,
                ctx.api_version,
                verify_only=txn.verify_only,
            )
        if refused:
            # A verification answers per partition, anything else with one code.
            codes = dict.fromkeys(partitions, refused.code) if txn.verify_only else refused.code
        response.results_by_transaction.append(
            R.AddPartitionsToTxnResult(
                transactional_id=txn.transactional_id,
                topic_results=_topic_results(
                    first[txn.transactional_id], ErrorCode.NONE if codes is None else codes
                ),
            )
        )
    return response
