"""The web console's routes (a placeholder page until the console lands)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.responses import PlainTextResponse
from starlette.routing import BaseRoute, Route

if TYPE_CHECKING:
    from starlette.requests import Request

    from kpy.http.app import HttpContext


def routes(ctx: HttpContext) -> list[BaseRoute]:
    """The console's routes, mounted at ``/`` by kpy.http.app."""

    async def home(request: Request) -> PlainTextResponse:
        return PlainTextResponse("kpy console\n")

    return [Route("/", home)]
