"""The DEBUG line of each request, on the ``kpy.request`` logger (written by dispatch).

One line per answered request: connection, client address and id, API and version,
correlation id, for Produce and Fetch the partitions it names (how many, and the first few as
topic-partition) with the partitions answered with an error, the top-level outcome (an error
name, "answered", or "no response due") and the time taken:

    conn-3 127.0.0.1 client_id='rdkafka' Produce v11 correlation_id=7 partitions=2 [t-0 t-1]
    errors [t-1=CORRUPT_MESSAGE]: answered in 0.41 ms

Nothing here runs unless DEBUG is enabled for ``kpy.request`` (dispatch checks first).
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

from kpy.protocol import api_keys
from kpy.protocol.error_codes import ErrorCode
from kpy.protocol.produce_codec import ProduceAnswer, ProduceView

if TYPE_CHECKING:
    from kpy.dispatch import RequestContext

request_log = logging.getLogger("kpy.request")

PRODUCE, FETCH = 0, 1
SHOWN = 8  # topic-partitions named in a line; the count covers the rest


def error_name(code: int) -> str:
    try:
        return ErrorCode(code).name
    except ValueError:
        return f"error {code}"


def log_request(
    ctx: RequestContext,
    error: int | None,
    started: float,
    answered: bool = True,
    request: Any = None,
    response: Any = None,
) -> None:
    """The DEBUG line of one request (``error`` None: no top-level error code to show)."""
    if not answered:
        outcome = "no response due"
    elif error is None:
        outcome = "answered"
    else:
        outcome = error_name(error)
    info = api_keys.API_KEYS.get(ctx.api_key)
    request_log.debug(
        "%s %s client_id=%r %s v%d correlation_id=%d%s: %s in %.2f ms",
        ctx.connection_id,
        ctx.client_host,
        ctx.client_id,
        info.name if info else f"API key {ctx.api_key}",
        ctx.api_version,
        ctx.correlation_id,
        _partitions(ctx, request, response),
        outcome,
        (time.perf_counter() - started) * 1000,
    )


def _partitions(ctx: RequestContext, request: Any, response: Any) -> str:
    """`` partitions=N [t-0 ...]`` and `` errors [t-1=NAME ...]`` for Produce and Fetch."""
    if request is None or ctx.api_key not in (PRODUCE, FETCH):
        return ""
    try:
        named = _requested(ctx, request)
        failed = _failed(ctx, response)
    except AttributeError:  # a shape this does not know: the line without partitions
        return ""
    text = f" partitions={len(named)} [{' '.join(named[:SHOWN])}{' ...' if len(named) > SHOWN else ''}]"
    if failed:
        text += f" errors [{' '.join(failed[:SHOWN])}{' ...' if len(failed) > SHOWN else ''}]"
    return text


def _topic_name(ctx: RequestContext, topic: Any) -> str:
    if topic.topic:
        return topic.topic
    found = ctx.broker.metadata.by_id(topic.topic_id) if ctx.broker is not None else None
    return found.name if found is not None else str(topic.topic_id)


def _requested(ctx: RequestContext, request: Any) -> list[str]:
    if ctx.api_key == PRODUCE:
        if isinstance(request, ProduceView):
            return [f"{name}-{i}" for name, parts in request.topics for i, _ in parts]
        return [f"{t.name}-{p.index}" for t in request.topic_data for p in t.partition_data]
    return [f"{_topic_name(ctx, t)}-{p.partition}" for t in request.topics for p in t.partitions]


def _failed(ctx: RequestContext, response: Any) -> list[str]:
    if response is None:
        return []
    if isinstance(response, ProduceAnswer):
        return [
            f"{name}-{o[0]}={error_name(o[1])}"
            for name, outcomes in response.results
            for o in outcomes
            if o[1]
        ]
    if ctx.api_key == PRODUCE:
        return [
            f"{t.name}-{p.index}={error_name(p.error_code)}"
            for t in response.responses
            for p in t.partition_responses
            if p.error_code
        ]
    return [
        f"{_topic_name(ctx, t)}-{p.partition_index}={error_name(p.error_code)}"
        for t in response.responses
        for p in t.partitions
        if p.error_code
    ]
