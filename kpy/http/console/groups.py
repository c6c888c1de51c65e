"""The group pages: every group, one group (members, assignment, committed offsets and lag)
and its reset-offsets form. Data through kpy.client.groups."""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import quote

from starlette.responses import RedirectResponse
from starlette.routing import Route

from kpy.client import ClientError, groups
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
    from starlette.datastructures import URL
    from starlette.requests import Request
    from starlette.responses import Response

    from kpy.http.app import HttpContext
    from kpy.http.console.templating import Pages

RESET_MODES = (
    ("earliest", "earliest offset"),
    ("latest", "latest offset"),
    ("offset", "offset"),
    ("timestamp", "time"),
)

# kpy serves the classic and the KIP-848 consumer group protocols; share groups (KIP-932)
# have no coordinator in kpy yet, so none can exist.
SHARE_NOTE = "share groups (KIP-932): kpy has none yet"


TYPE_LABELS = {"classic": "classic", "consumer": "consumer (KIP-848)", "share": "share (KIP-932)"}


def type_label(group_type: str) -> str:
    return TYPE_LABELS.get(group_type, group_type)


def group_url(request: Request, route: str, group_id: str) -> URL:
    """The URL of a group's page (``route`` "group") or reset form ("reset"): Starlette puts
    path parameters into URLs as they are, so the id is percent-encoded here ("a/b" is
    ``/groups/a%2Fb``; the server decodes it back)."""
    return request.url_for(route, group=quote(group_id, safe=""))


def state_class(state: str) -> str:
    """The badge colour of a group state."""
    if state in ("Stable",):
        return "ok"
    if state in ("Empty",):
        return ""
    if state in ("Dead",):
        return "bad"
    return "warn"  # rebalancing: PreparingRebalance, CompletingRebalance, Assigning, ...


class GroupPages:
    def __init__(self, ctx: HttpContext, pages: Pages) -> None:
        self.ctx = ctx
        self.pages = pages

    def routes(self) -> list[Route]:
        return [
            Route("/groups", self.groups, name="groups"),
            # A group id is any string, "/" included (topic names are not): the id is one
            # percent-encoded segment in links (group_url) and the rest of the path here.
            Route("/groups/{group:path}", self.group, name="group"),
            Route("/groups/{group:path}/reset", self.reset, name="reset", methods=["POST"]),
        ]

    async def groups(self, request: Request) -> Response:
        async with kafka(self.ctx) as client:
            listed = await groups.list_groups(client)
            lags = {}
            for g in listed:
                try:
                    [lags[g.group_id]] = await groups.describe_groups(client, [g.group_id])
                except ClientError:
                    continue  # gone since it was listed, or not a consumer group: no lag
        rows = [
            {
                "group_id": g.group_id,
                "type": type_label(g.type),
                "protocol_type": g.protocol_type,
                "state": g.state,
                "state_class": state_class(g.state),
                "members": len(lags[g.group_id].members) if g.group_id in lags else None,
                "lag": lags[g.group_id].total_lag if g.group_id in lags else None,
                "url": group_url(request, "group", g.group_id),
            }
            for g in listed
        ]
        return self.pages.render(
            request,
            "groups.html",
            title="Groups",
            section="groups",
            groups=rows,
            share_note=SHARE_NOTE,
        )

    async def group(
        self, request: Request, *, status: int = 200, flashes: list[tuple[str, str]] | None = None
    ) -> Response:
        group_id = request.path_params["group"]
        try:
            async with kafka(self.ctx) as client:
                described = await groups.describe_group(client, group_id)
        except ClientError as exc:
            # A failed reset of a group that cannot be described: both errors are news.
            message = "; ".join([text for _, text in flashes or []] + [str(exc)])
            back = str(request.url_for("groups"))
            return self.pages.error(request, status_of(exc), f"Group {group_id}", message, back)
        if flashes is None:
            flashes = _reset_flash(request)
        group = {
            "group_id": described.group_id,
            "type": type_label(described.type),
            "state": described.state,
            "state_class": state_class(described.state),
            "protocol": described.assignor,
            "coordinator": described.coordinator.node_id,
            "members": [
                {
                    "member_id": m.member_id,
                    "instance_id": m.instance_id,
                    "client_id": m.client_id,
                    "client_host": m.host,
                    "assignment": sorted(m.assignment.items()),
                }
                for m in described.members
            ],
            "offsets": [
                {
                    "topic": o.topic,
                    "partition": o.partition,
                    "committed": o.current_offset,
                    "end_offset": o.log_end_offset,
                    "lag": o.lag,
                    "member": o.client_id,
                    "topic_url": request.url_for("topic", topic=o.topic),
                }
                for o in described.offsets
            ],
            "total_lag": described.total_lag,
            "topics": sorted({o.topic for o in described.offsets}),
        }
        return self.pages.render(
            request,
            "group.html",
            title=group_id,
            section="groups",
            status_code=status,
            flashes=flashes,
            group=group,
            reset_modes=RESET_MODES,
            reset_url=group_url(request, "reset", group_id),
        )

    async def reset(self, request: Request) -> Response:
        group_id = request.path_params["group"]
        if not same_origin(request):
            return self.pages.error(
                request, 403, "Refused", "A form of another site cannot post here.", "/"
            )
        try:
            form = await form_fields(request)
            to = form.get("to", "")
            if to not in dict(RESET_MODES):
                raise FormError(f"reset to {to!r}: choose earliest, latest, offset or time")
            offset = int_field(form, "offset", minimum=0) if to == "offset" else None
            if to == "offset" and offset is None:
                raise FormError("an offset is needed to reset to an offset")
            timestamp = None
            if to == "timestamp":
                if not form.get("time", "").strip():
                    raise FormError("a time is needed to reset to a time")
                timestamp = display.parse_time(form["time"])
            async with kafka(self.ctx) as client:
                seek_to = groups.SeekTarget(to, offset if to == "offset" else timestamp)
                topic = form.get("topic") or None
                done = await groups.seek_offsets(
                    client, group_id, seek_to, {topic: None} if topic else None
                )
        except (ValueError, ClientError) as exc:
            status = status_of(exc) if isinstance(exc, ClientError) else 400
            return await self.group(request, status=status, flashes=[("error", str(exc))])
        target = group_url(request, "group", group_id).include_query_params(reset=len(done))
        return RedirectResponse(str(target), status_code=303)


def _reset_flash(request: Request) -> list[tuple[str, str]]:
    count = request.query_params.get("reset", "")
    if not count.isdigit():
        return []
    n = int(count)
    return [("ok", f"Committed new offsets for {n} partition{'' if n == 1 else 's'}.")]
