"""InitProducerId (key 22), versions 0-5.

Without a transactional id (idempotent producers) every request gets a fresh producer id with
epoch 0, as Kafka does; ids come from ProducerIdManager and are never reused. Requests with
a transactional id go to the transaction coordinator. v3+ may carry the producer id and epoch
the client had: both or neither, else INVALID_REQUEST (as Kafka, before anything else).
Refusals are raised; dispatch answers them with no producer id (-1) and epoch -1.
"""

from __future__ import annotations

from kpy.dispatch import RequestContext, handles
from kpy.protocol.error_codes import ErrorCode, KafkaError
from kpy.protocol.messages.init_producer_id import InitProducerIdRequest, InitProducerIdResponse


@handles(22, 0, 5)
async def init_producer_id(
    ctx: RequestContext, req: InitProducerIdRequest
) -> InitProducerIdResponse:
    broker = ctx.broker
    if (req.producer_id == -1) != (req.producer_epoch == -1):
        raise KafkaError(
            ErrorCode.INVALID_REQUEST, "a producer id and epoch are given both or neither"
        )
    if req.transactional_id is not None:
        producer_id, epoch = await broker.txns.init_producer_id(ctx, req)
        return InitProducerIdResponse(producer_id=producer_id, producer_epoch=epoch)
    return InitProducerIdResponse(producer_id=broker.producer_ids.next_id(), producer_epoch=0)
