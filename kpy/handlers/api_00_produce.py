"""Produce (key 0), versions 3-11 (Kafka 4 dropped 0-2, KIP-896).

Each partition's records are validated (kpy.storage.validator) and appended independently,
so one partition's error does not fail the others. acks=0 gets no response at all; acks=1
and acks=-1 are the same on a single broker: the append is acknowledged once it is in the
log (and fsynced when the topic's flush settings ask for it).
"""

from __future__ import annotations

from kpy.dispatch import RequestContext, handles
from kpy.protocol.error_codes import ErrorCode, KafkaError
from kpy.protocol.messages.produce import ProduceRequest, ProduceResponse
from kpy.storage.validator import validate_produce_records

PartitionResponse = ProduceResponse.PartitionProduceResponse


def error_response(req: ProduceRequest, version: int, code: int) -> ProduceResponse:
    return ProduceResponse(
        responses=[
            ProduceResponse.TopicProduceResponse(
                name=t.name,
                partition_responses=[
                    PartitionResponse(index=p.index, error_code=code, base_offset=-1)
                    for p in t.partition_data
                ],
            )
            for t in req.topic_data
        ]
    )


@handles(0, 3, 11, error_response=error_response)
async def produce(ctx: RequestContext, req: ProduceRequest) -> ProduceResponse | None:
    broker = ctx.broker
    if req.acks not in (0, 1, -1):
        return error_response(req, ctx.api_version, ErrorCode.INVALID_REQUIRED_ACKS)
    now_ms = int(broker.clock() * 1000)
    response = ProduceResponse()
    appended: list = []
    for topic in req.topic_data:
        results = []
        for part in topic.partition_data:
            results.append(
                append_partition(broker, topic.name, part, now_ms, req.transactional_id, appended)
            )
        response.responses.append(
            ProduceResponse.TopicProduceResponse(name=topic.name, partition_responses=results)
        )
    await broker.after_produce(appended)
    if req.acks == 0:
        return None
    return response


def append_partition(
    broker, topic: str, part, now_ms: int, transactional_id: str | None, appended: list
):
    try:
        log = broker.partition_log(topic, part.index)
        if broker.metadata.get(topic).internal:
            raise KafkaError(
                ErrorCode.INVALID_TOPIC_EXCEPTION, f"Cannot append to internal topic {topic}"
            )
        config = broker.topic_effective_config(topic)
        batch = validate_produce_records(part.records, config, now_ms)
        if transactional_id is not None:
            broker.txns.check_produce(transactional_id, topic, part.index, batch.header)
        result = log.append(
            batch.buffer,
            leader_epoch=broker.metadata.get(topic).leader_epochs[part.index],
            log_append_time_ms=batch.log_append_time_ms,
        )
    except KafkaError as exc:
        return PartitionResponse(
            index=part.index, error_code=exc.code, base_offset=-1, error_message=exc.message
        )
    except OSError as exc:
        broker.report_storage_error(topic, part.index, exc)
        return PartitionResponse(
            index=part.index,
            error_code=ErrorCode.KAFKA_STORAGE_ERROR,
            base_offset=-1,
            error_message=str(exc),
        )
    broker.notify_append((topic, part.index))
    appended.append(log)
    return PartitionResponse(
        index=part.index,
        base_offset=result.base_offset,
        log_append_time_ms=result.log_append_time_ms,
        log_start_offset=result.log_start_offset,
    )
