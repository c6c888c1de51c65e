"""ListTransactions (key 66), versions 0-1: transactional ids filtered by state and producer
id, and (v1) by how long the transaction has been open. Unknown state names are echoed back
in ``unknown_state_filters``, each once."""

from __future__ import annotations

from kpy.coordinator.txn_state import STATE_BY_NAME, STATE_NAMES
from kpy.dispatch import RequestContext, handles
from kpy.protocol.messages.list_transactions import (
    ListTransactionsRequest,
    ListTransactionsResponse,
)

R = ListTransactionsResponse


@handles(66, 0, 1)
async def list_transactions(ctx: RequestContext, req: ListTransactionsRequest) -> R:
    unknown = [s for s in req.state_filters if s.lower() not in STATE_BY_NAME]
    unknown = list(dict.fromkeys(unknown))  # each once, in the order asked
    duration = req.duration_filter if ctx.api_version >= 1 else -1
    found = ctx.broker.txns.list(list(req.state_filters), list(req.producer_id_filters), duration)
    return R(
        unknown_state_filters=unknown,
        transaction_states=[
            R.TransactionState(
                transactional_id=t.transactional_id,
                producer_id=t.producer_id,
                transaction_state=STATE_NAMES[t.state],
            )
            for t in found
        ],
    )
