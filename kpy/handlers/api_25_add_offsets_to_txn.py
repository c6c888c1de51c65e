"""AddOffsetsToTxn (key 25), versions 0-4: a group joins the producer's transaction, so
that TxnOffsetCommit may follow; its ``__consumer_offsets`` partition gets a marker at the
end. v2+ knows PRODUCER_FENCED."""

from __future__ import annotations

from kpy.dispatch import RequestContext, handles
from kpy.protocol.messages.add_offsets_to_txn import (
    AddOffsetsToTxnRequest,
    AddOffsetsToTxnResponse,
)


@handles(25, 0, 4)
async def add_offsets_to_txn(
    ctx: RequestContext, req: AddOffsetsToTxnRequest
) -> AddOffsetsToTxnResponse:
    await ctx.broker.txns.add_offsets(
        req.transactional_id, req.producer_id, req.producer_epoch, req.group_id, ctx.api_version
    )
    return AddOffsetsToTxnResponse()
