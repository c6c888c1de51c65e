"""What every console page shares: a Kafka client on the broker's own request path, Kafka's
errors as pages, form parsing, and the same-origin check on forms that change data."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, urlsplit

from kpy.client import Client, ClientError

if TYPE_CHECKING:
    from starlette.requests import Request

    from kpy.http.app import HttpContext

CLIENT_ID = "kpy-console"

# Kafka errors that mean "no such thing" (a 404 page rather than a failure).
NOT_FOUND = {
    3,  # UNKNOWN_TOPIC_OR_PARTITION
    69,  # GROUP_ID_NOT_FOUND
    100,  # UNKNOWN_TOPIC_ID
}


@asynccontextmanager
async def kafka(ctx: HttpContext) -> AsyncIterator[Client]:
    """A client whose requests go through the broker's dispatch in this process (no socket):
    the console asks exactly what a Kafka client would ask, so what it shows is what clients
    see, and the CLI (the same kpy.client.admin functions over a socket) agrees with it."""
    async with Client.local(ctx.broker, CLIENT_ID) as client:
        yield client


def status_of(error: ClientError) -> int:
    """The HTTP status of a page that failed with ``error``."""
    return 404 if error.code in NOT_FOUND else 409


class FormError(ValueError):
    """A form field a person filled in wrongly; the message names the field."""


def same_origin(request: Request) -> bool:
    """Whether a form post comes from the console's own pages. The console has no login, so a
    page of another site could otherwise make the browser post to it (produce a record, reset
    a group's offsets); browsers send Origin on every cross-site POST."""
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        # No Origin: not a browser's cross-site form post (curl, a script); "null" comes from
        # sandboxed or privacy-restricted contexts, which are refused.
        return origin is None
    host = request.headers.get("host", "")
    return urlsplit(origin).netloc == host


MAX_FORM_BYTES = 1 << 20  # a produced value typed into a form; more is refused


async def form_fields(request: Request) -> dict[str, str]:
    """The fields of a posted form (``application/x-www-form-urlencoded``, what the console's
    forms send), the last value of a repeated name winning. Parsed here with the standard
    library: Starlette's own form parser needs python-multipart, a dependency for nothing
    else. FormError when the body is not such a form or is too large."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != "application/x-www-form-urlencoded":
        raise FormError(f"a form post is application/x-www-form-urlencoded, not {kind or 'none'}")
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            raise FormError(f"the form is larger than {MAX_FORM_BYTES} bytes")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise FormError("the form is not UTF-8") from None
    return dict(parse_qsl(text, keep_blank_values=True))


def int_field(form: dict[str, str], name: str, *, minimum: int | None = None) -> int | None:
    """An optional integer field: None when empty; FormError naming it when not a number."""
    text = form.get(name, "").strip()
    if not text:
        return None
    try:
        value = int(text)
    except ValueError:
        raise FormError(f"{name} {text!r} is not a whole number") from None
    if minimum is not None and value < minimum:
        raise FormError(f"{name} must be at least {minimum}, not {value}")
    return value
