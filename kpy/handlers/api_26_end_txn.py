"""EndTxn (key 26), versions 0-4: commit or abort the producer's transaction. The markers
are in every partition of the transaction (and the group offsets settled) before the answer.
v2+ knows PRODUCER_FENCED. v5 (transactions v2, KIP-890) is not in the schemas kpy
generates from, so it is not offered."""

from __future__ import annotations

from kpy.dispatch import RequestContext, handles
from kpy.protocol.messages.end_txn import EndTxnRequest, EndTxnResponse


@handles(26, 0, 4)
async def end_txn(ctx: RequestContext, req: EndTxnRequest) -> EndTxnResponse:
    ctx.broker.txns.end_txn(
        req.transactional_id, req.producer_id, req.producer_epoch, req.committed, ctx.api_version
    )
    return EndTxnResponse()
