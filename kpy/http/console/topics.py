"""The topic pages: the list, one topic (partitions, configs that differ from the defaults),
the message browser of a partition and the produce form. Data through kpy.client."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from starlette.responses import RedirectResponse
from starlette.routing import Route

from kpy.client import ClientError, admin
from kpy.client.fetch import ConsumedRecord, fetch_records
from kpy.client.offsets import list_offsets, resolve_partitions, watermarks
from kpy.client.produce import ProducerRecord, produce
from kpy.http.console import display
from kpy.http.console.common import (
    FormError,
    form_fields,
    int_field,
    kafka,
    same_origin,
    status_of,
)

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response

    from kpy.http.app import HttpContext
    from kpy.http.console.templating import Pages

DEFAULT_LIMIT = 50
MAX_LIMIT = 500
SEEK_MODES = (("latest", "newest records"), ("offset", "offset"), ("time", "time"))


@dataclass(slots=True)
class RecordRow:
    """One record as the message browser prints it."""

    offset: int
    timestamp: str
    timestamp_type: str
    key: str | None
    value: str | None
    value_note: str
    headers: list[tuple[str, str | None]]


def record_row(r: ConsumedRecord) -> RecordRow:
    key = display.show_bytes(r.key, pretty_json=False)
    value = display.show_bytes(r.value)
    return RecordRow(
        r.offset,
        display.timestamp_text(r.timestamp),
        display.timestamp_type_text(r.timestamp_type),
        key.text,
        value.text,
        value.note,
        [(name, display.show_bytes(v, pretty_json=False).text) for name, v in r.headers],
    )


class TopicPages:
    def __init__(self, ctx: HttpContext, pages: Pages) -> None:
        self.ctx = ctx
        self.pages = pages

    def routes(self) -> list[Route]:
        return [
            Route("/topics", self.topics, name="topics"),
            Route("/topics/{topic}", self.topic, name="topic"),
            Route("/topics/{topic}/messages", self.messages, name="messages"),
            Route("/topics/{topic}/produce", self.produce, name="produce", methods=["GET", "POST"]),
        ]

    async def topics(self, request: Request) -> Response:
        show_internal = request.query_params.get("internal") == "1"
        async with kafka(self.ctx) as client:
            listed = await admin.list_topics(client, internal=True)
            # One request of each kind for every topic (not five per topic); one deleted
            # since it was listed is left out.
            described = await admin.describe_topics(
                client,
                [t.name for t in listed if show_internal or not t.internal],
                configs=False,
                missing_ok=True,
            )
        rows = [
            {
                "name": t.name,
                "internal": t.internal,
                "partitions": len(t.partitions),
                "records": sum(_records(p) for p in t.partitions),
                "size": t.size_bytes,
                "url": request.url_for("topic", topic=t.name),
                "browse_url": request.url_for("messages", topic=t.name),
            }
            for t in described
        ]
        toggle = request.url_for("topics").include_query_params(
            internal="0" if show_internal else "1"
        )
        return self.pages.render(
            request,
            "topics.html",
            title="Topics",
            section="topics",
            topics=rows,
            show_internal=show_internal,
            hidden_internal=any(t.internal for t in listed),
            toggle_internal_url=toggle,
        )

    async def topic(self, request: Request) -> Response:
        name = request.path_params["topic"]
        try:
            async with kafka(self.ctx) as client:
                described = await admin.describe_topic(client, name)
        except ClientError as exc:
            return self._failed(request, exc, f"Topic {name}")
        partitions = [
            {
                "partition": p.partition,
                "leader": p.leader,
                "log_start_offset": p.log_start_offset,
                "high_watermark": p.high_watermark,
                "records": _records(p),
                "size": p.size_bytes,
                "browse_url": request.url_for("messages", topic=name).include_query_params(
                    partition=p.partition
                ),
            }
            for p in described.partitions
        ]
        topic = {
            "name": name,
            "topic_id": described.topic_id,
            "partitions": partitions,
            "records": sum(_records(p) for p in described.partitions),
            "size": described.size_bytes,
            "configs": [c for c in described.overrides() if not c.sensitive],
        }
        return self.pages.render(
            request,
            "topic.html",
            title=name,
            section="topics",
            topic=topic,
            produce_url=request.url_for("produce", topic=name),
        )

    async def messages(self, request: Request) -> Response:
        name = request.path_params["topic"]
        query = request.query_params
        topic_url = request.url_for("topic", topic=name)
        try:
            partition = int_field(dict(query), "partition", minimum=0) or 0
            limit = min(int_field(dict(query), "limit", minimum=1) or DEFAULT_LIMIT, MAX_LIMIT)
            seek = query.get("seek", "latest")
            if seek not in dict(SEEK_MODES):
                raise FormError(f"seek {seek!r} is not one of latest, offset, time")
            offset = int_field(dict(query), "offset", minimum=0) if seek == "offset" else None
            if seek == "offset" and offset is None:
                raise FormError("an offset is needed to seek to an offset")
            time_ms = None
            if seek == "time":
                if not query.get("time", "").strip():
                    raise FormError("a time is needed to seek to a time")
                time_ms = display.parse_time(query["time"])
        except ValueError as exc:  # FormError too
            return self.pages.error(request, 400, f"Messages of {name}", str(exc), str(topic_url))
        try:
            async with kafka(self.ctx) as client:
                marks = await watermarks(client, [name])
                numbers = sorted(p for _, p in marks)
                if partition not in numbers:
                    raise ClientError(3, f"{name} has no partition {partition}")
                start, end = marks[(name, partition)]
                if time_ms is not None:
                    found = await list_offsets(client, [(name, partition)], time_ms)
                    first = found[(name, partition)]
                    first = end if first < 0 else first  # no record that new
                elif offset is not None:
                    first = min(max(offset, start), end)  # outside the log: its nearest end
                else:
                    first = max(end - limit, start)
                fetched = await fetch_records(client, name, partition, first, max_records=limit)
        except ClientError as exc:
            return self._failed(request, exc, f"Messages of {name}")
        records = [record_row(r) for r in reversed(fetched)]  # newest first
        browse = request.url_for("messages", topic=name)

        def page_at(at: int) -> str:
            return str(
                browse.include_query_params(
                    partition=partition, seek="offset", offset=at, limit=limit
                )
            )

        older = page_at(max(first - limit, start)) if first > start else None
        last = fetched[-1].offset + 1 if fetched else first
        newer = page_at(last) if last < end else None
        return self.pages.render(
            request,
            "messages.html",
            title=f"Messages of {name}",
            section="topics",
            flashes=_produced_flash(request),
            topic=name,
            topic_url=topic_url,
            partition=partition,
            partitions=numbers,
            log_start_offset=start,
            high_watermark=end,
            seek=seek,
            seek_modes=SEEK_MODES,
            offset=offset if seek == "offset" else first,
            time_value=display.time_input_value(time_ms),
            limit=limit,
            max_limit=MAX_LIMIT,
            records=records,
            older_url=older,
            newer_url=newer,
            browse_url=browse,
            produce_url=request.url_for("produce", topic=name).include_query_params(
                partition=partition
            ),
        )

    async def produce(self, request: Request) -> Response:
        name = request.path_params["topic"]
        try:
            async with kafka(self.ctx) as client:
                numbers = [p for _, p in await resolve_partitions(client, {name: None})]
        except ClientError as exc:
            return self._failed(request, exc, f"Produce to {name}")
        if request.method == "GET":
            form = {
                "partition": request.query_params.get("partition", ""),
                "key": "",
                "value": "",
                "headers": "",
            }
            return self._produce_form(request, name, numbers, form)
        if not same_origin(request):
            return self.pages.error(
                request, 403, "Refused", "A form of another site cannot post here.", "/"
            )
        try:
            posted = await form_fields(request)
        except FormError as exc:
            return self.pages.error(request, 400, f"Produce to {name}", str(exc), "/")
        form = {k: posted.get(k, "") for k in ("partition", "key", "value", "headers")}
        try:
            partition = int_field(form, "partition", minimum=0)
            if partition is not None and partition not in numbers:
                raise FormError(f"{name} has no partition {partition}")
            headers: list[tuple[str, bytes | None]] = list(display.parse_headers(form["headers"]))
            record = ProducerRecord(
                form["value"].encode(),
                key=form["key"].encode() if form["key"] else None,
                headers=headers,
                partition=partition,
            )
            async with kafka(self.ctx) as client:
                [produced] = await produce(client, name, [record])
        except (ValueError, ClientError) as exc:
            status = status_of(exc) if isinstance(exc, ClientError) else 400
            return self._produce_form(
                request, name, numbers, form, status=status, flashes=[("error", str(exc))]
            )
        if produced.error is not None or produced.offset is None:
            return self._produce_form(
                request, name, numbers, form, status=409, flashes=[("error", str(produced.error))]
            )
        # Post/redirect/get: the browser shows the record where it landed, and a reload does
        # not produce it again.
        target = request.url_for("messages", topic=name).include_query_params(
            partition=produced.partition,
            seek="offset",
            offset=produced.offset,
            produced=produced.offset,
        )
        return RedirectResponse(str(target), status_code=303)

    def _produce_form(
        self,
        request: Request,
        name: str,
        numbers: list[int],
        form: dict[str, str],
        *,
        status: int = 200,
        flashes: list[tuple[str, str]] | None = None,
    ) -> Response:
        return self.pages.render(
            request,
            "produce.html",
            title=f"Produce to {name}",
            section="topics",
            status_code=status,
            flashes=flashes,
            topic=name,
            topic_url=request.url_for("topic", topic=name),
            partitions=numbers,
            form=form,
            produce_url=request.url_for("produce", topic=name),
        )

    def _failed(self, request: Request, exc: ClientError, title: str) -> Response:
        return self.pages.error(
            request, status_of(exc), title, str(exc), str(request.url_for("topics"))
        )


def _records(p: admin.PartitionDescription) -> int:
    """Offsets between the log start and the high watermark: the records, with control
    records and compacted gaps, as Kafka's tools count them."""
    return p.high_watermark - p.log_start_offset


def _produced_flash(request: Request) -> list[tuple[str, Any]]:
    produced = request.query_params.get("produced", "")
    partition = request.query_params.get("partition", "0")
    if not (produced.isdigit() and partition.isdigit()):
        return []
    return [("ok", f"Produced one record to partition {partition} at offset {produced}.")]
