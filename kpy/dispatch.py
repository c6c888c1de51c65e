"""Handler registry and the one place where requests become responses.

Each module in kpy/handlers registers itself with ``@handles(api_key, min_version, max_version)``.
Modules are imported on the first request of their API; the ApiVersions answer comes from
``kpy.handlers.HANDLERS``, a table of the ranges these registrations advertise (and, where
Kafka does, a floor below the one accepted), which a test keeps equal to them, so kpy only
advertises what it implements. ``dispatch`` decodes a request frame, checks its version,
runs the handler and is the one place where an exception becomes a response: a KafkaError is
answered with its code, any other exception (logged, rate-limited) with UNKNOWN_SERVER_ERROR,
in that API's error response (the request's generated ``error_response``, as Kafka's
getErrorResponse, unless the handler registers its own), and the connection stays open.
Handlers raise; only a failure of one item of a request (a partition, a topic) is answered by
the handler, through kpy.handlers.errors. What gets no answer at all (an unreadable header, an
unknown API or version, a malformed body; an acks=0 produce that fails) raises
``CloseConnection`` (the connection logs why and closes).

Produce, the busiest request, is read by its zero-copy codec (kpy.protocol.produce_codec:
records stay views of the frame, no message objects) when it has the codec's common shape,
else by the generated decoder as every other request; either way it takes this same path.

Cross-cutting work happens here, once per request: every answered request is counted in
the broker's metrics (kpy.metrics: requests, latency, error codes, bytes and messages in and
out), and the client software an ApiVersions v3+ request names is noted on its connection
(kpy.clients).

With DEBUG enabled on the ``kpy.request`` logger, every request leaves a line
(kpy.request_log): connection, client, API and version, correlation id, the partitions of a
Produce or Fetch and those answered with an error, the top-level error code and the time
taken. The check costs one ``isEnabledFor`` per request when it is off.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from kpy.log_limiter import LogLimiter
from kpy.protocol import api_keys, framing, produce_codec
from kpy.protocol.error_codes import ErrorCode, KafkaError
from kpy.protocol.primitives import ProtocolError
from kpy.protocol.produce_codec import ProduceView
from kpy.request_log import log_request, request_log  # a DEBUG line per request, like Kafka's

if TYPE_CHECKING:
    from kpy.broker import Broker
    from kpy.clients import ClientState
    from kpy.metrics import BrokerMetrics

log = logging.getLogger("kpy.dispatch")

API_VERSIONS_KEY = 18
# A handler that fails on every request logs its traceback once per interval, not per request.
_failures = LogLimiter(log)


class CloseConnection(Exception):
    """The peer sent something that gets no answer: close this connection only."""


@dataclass(slots=True)
class RequestContext:
    """What a handler knows about the request besides its body."""

    broker: Broker
    api_key: int
    api_version: int
    correlation_id: int
    client_id: str | None
    client_host: str
    listener: str
    connection_id: str
    client: ClientState | None = None  # the connection's, which dispatch fills in


HandlerFn = Callable[[RequestContext, Any], Awaitable[Any]]
ErrorFn = Callable[[Any, int, int], Any]


@dataclass(slots=True)
class Registration:
    api_key: int
    min_version: int
    max_version: int
    handler: HandlerFn
    error_response: ErrorFn | None
    advertised_min: int  # the floor ApiVersions lists, at most min_version
    _request_class: Any = None

    def request_class(self) -> Any:
        cls = self._request_class
        if cls is None:
            cls = self._request_class = api_keys.API_KEYS[self.api_key].request_class
        return cls


REGISTRY: dict[int, Registration] = {}


def handles(
    api_key: int,
    min_version: int,
    max_version: int,
    *,
    error_response: ErrorFn | None = None,
    unstable_ok: bool = False,
    advertised_min: int | None = None,
):
    """Register an async handler ``(ctx, request) -> response | None`` for one API.

    ``min_version``-``max_version`` are the versions answered; others close the connection.
    ``error_response(request, version, code)`` builds the response that carries ``code`` for
    every part of the request, for an API whose answer differs from the generated
    ``request.error_response(version, code)`` used otherwise; None means no answer.
    ``unstable_ok`` lets a handler advertise a version the schemas still mark unstable.
    ``advertised_min`` is a lower floor for ApiVersions only, for an API whose clients decide
    on features by the floor they see (Produce: Kafka 4 lists v0, KAFKA-18659).
    """
    info = api_keys.API_KEYS[api_key]
    highest = info.request_class.VALID_VERSIONS[1] if unstable_ok else info.schema_max
    if min_version < info.schema_min or max_version > highest:
        raise ValueError(f"{info.name}: versions {min_version}-{max_version} outside the schema")
    floor = min_version if advertised_min is None else advertised_min
    if not info.schema_min <= floor <= min_version:
        raise ValueError(
            f"{info.name}: advertised floor {floor} outside {info.schema_min}-{min_version}"
        )

    def register(fn: HandlerFn) -> HandlerFn:
        REGISTRY[api_key] = Registration(
            api_key, min_version, max_version, fn, error_response, floor
        )
        return fn

    return register


def supported_versions() -> list[tuple[int, int, int]]:
    """(api_key, min, max) for every implemented API as ApiVersions advertises it, by key (no
    handler is imported)."""
    from kpy.handlers import HANDLERS

    return [(key, lo, hi) for key, (_, lo, hi) in sorted(HANDLERS.items())]


def registered_versions() -> list[tuple[int, int, int]]:
    """(api_key, min, max) as the imported handler modules register them for ApiVersions."""
    return [(r.api_key, r.advertised_min, r.max_version) for _, r in sorted(REGISTRY.items())]


def load_handlers() -> None:
    """Import every handler module now (they are otherwise imported on first use)."""
    from kpy.handlers import import_all

    import_all()


def _registration(key: int) -> Registration | None:
    reg = REGISTRY.get(key)
    if reg is None:
        from kpy.handlers import import_handler

        import_handler(key)  # the first request of this API: its module registers itself
        reg = REGISTRY.get(key)
    return reg


async def dispatch(
    frame: memoryview,
    make_ctx: Callable[[int, int, int, str | None], RequestContext],
    metrics: BrokerMetrics | None = None,
) -> list[Any] | None:
    """Answer one request frame (without its size prefix).

    Returns the response chunks (size prefix included) or None when no response is due
    (acks=0 produce). Raises CloseConnection when the frame gets no answer. Every answered
    request is counted in ``metrics`` (kpy.metrics), once, here.
    """
    started = time.perf_counter()
    request = _read_produce(frame) if produce_codec.is_produce(frame) else None
    if request is not None:
        key, version, corr = produce_codec.API_KEY, request.version, request.correlation_id
        client_id, body_offset = request.client_id, 0
    else:
        key, version, corr, client_id, body_offset = _read_header(frame)
    reg = REGISTRY.get(key) or _registration(key)
    if reg is None:
        name = api_keys.API_KEYS[key].name if key in api_keys.API_KEYS else "unknown"
        raise CloseConnection(f"API key {key} ({name}) version {version} is not supported")
    if not reg.min_version <= version <= reg.max_version:
        if key == API_VERSIONS_KEY:
            # KIP-511: answer at v0 with the error and our ranges so the client can downgrade.
            response = _unsupported_api_versions()
            if metrics is not None:
                metrics.request_done(key, version, None, response, time.perf_counter() - started)
            if request_log.isEnabledFor(logging.DEBUG):
                ctx = make_ctx(key, version, corr, client_id)
                log_request(ctx, ErrorCode.UNSUPPORTED_VERSION, started)
            return framing.encode_response(corr, key, 0, response)
        raise CloseConnection(
            f"{api_keys.API_KEYS[key].name} v{version} is outside {reg.min_version}-{reg.max_version}"
        )
    info = api_keys.API_KEYS[key]
    try:
        if request is None:
            request = reg.request_class().decode(frame[body_offset:], version)
    except Exception as exc:
        raise CloseConnection(f"malformed {info.name} v{version} request: {exc}") from exc
    ctx = make_ctx(key, version, corr, client_id)
    error: int | None = None
    try:
        response = await reg.handler(ctx, request)
    except KafkaError as exc:
        error = exc.code
        response = _error_response(reg, request, version, exc)
    except CloseConnection:
        raise
    except Exception as exc:
        error = ErrorCode.UNKNOWN_SERVER_ERROR
        _log_failure(info.name, version, "handler failed")
        response = _error_response(reg, request, version, exc)
    if key == API_VERSIONS_KEY and version >= 3 and ctx.client is not None:
        _note_software(ctx.client, request, response)
    chunks = None
    if response is not None:
        try:
            chunks = framing.encode_response(corr, key, version, response)
        except Exception as exc:
            if error is not None:
                raise  # the error response itself: nothing better to answer
            _log_failure(info.name, version, "response could not be encoded")
            response = _error_response(reg, request, version, exc)
            chunks = framing.encode_response(corr, key, version, response)
    if metrics is not None:
        try:
            metrics.request_done(key, version, request, response, time.perf_counter() - started)
        except Exception:  # counting must never cost a client its answer
            _log_failure(info.name, version, "could not be counted in the metrics")
    if request_log.isEnabledFor(logging.DEBUG):
        shown = getattr(response, "error_code", None) if error is None else error
        log_request(ctx, shown, started, response is not None, request, response)
    return chunks


def _note_software(client: ClientState, request: Any, response: Any) -> None:
    """The client software an accepted ApiVersions v3+ names (KIP-511), for Broker.clients();
    a refused one (INVALID_REQUEST for a name outside Kafka's pattern) changes nothing."""
    if response is not None and not response.error_code:
        client.software_name = request.client_software_name
        client.software_version = request.client_software_version


def _read_header(frame: memoryview) -> tuple[int, int, int, str | None, int]:
    """(api key, version, correlation id, client id, body offset) of a request frame."""
    try:
        header, body_offset = framing.decode_request_header(frame)
    except Exception as exc:
        raise CloseConnection(f"unreadable request header: {exc}") from exc
    return (
        header.request_api_key,
        header.request_api_version,
        header.correlation_id,
        header.client_id,
        body_offset,
    )


def _read_produce(frame: memoryview) -> ProduceView | None:
    """A Produce request read by its zero-copy codec, or None for the generated decoder: a
    shape the codec leaves to it, or bytes it cannot read (the generated decoder then
    refuses them too, and names what is wrong)."""
    try:
        return produce_codec.parse(frame)
    except ProtocolError:
        return None


def _log_failure(name: str, version: int, what: str) -> None:
    """ERROR with the traceback of the exception being handled, once per interval for the
    same API, version and exception type."""
    exc_type = sys.exc_info()[0]
    key = (name, version, exc_type.__name__ if exc_type else "")
    _failures.log(logging.ERROR, key, "%s v%d %s", name, version, what, exc_info=True)


def _error_response(reg: Registration, request: Any, version: int, exc: Exception) -> Any:
    """The API's answer to ``exc`` raised for ``request``: the code of a KafkaError, else
    UNKNOWN_SERVER_ERROR, for every part of the request. Raises CloseConnection when no answer
    is due (an acks=0 produce, whose connection Kafka closes instead)."""
    code = exc.code if isinstance(exc, KafkaError) else ErrorCode.UNKNOWN_SERVER_ERROR
    info = api_keys.API_KEYS[reg.api_key]
    try:
        if reg.error_response is not None:
            response = reg.error_response(request, version, code)
        else:
            response = request.error_response(version, code)
    except Exception as failed:
        raise CloseConnection(f"{info.name} error response failed: {failed!r}") from exc
    if response is None:
        raise CloseConnection(f"{info.name} failed with {exc!r} and has no answer") from exc
    return response


def _unsupported_api_versions() -> Any:
    from kpy.protocol.messages.api_versions import ApiVersionsResponse

    return ApiVersionsResponse(
        error_code=ErrorCode.UNSUPPORTED_VERSION,
        api_keys=api_versions_entries(ApiVersionsResponse),
    )


def api_versions_entries(response_cls: Any) -> list[Any]:
    return [
        response_cls.ApiVersion(api_key=k, min_version=lo, max_version=hi)
        for k, lo, hi in supported_versions()
    ]
