"""The console's Jinja2 environment: templates from ``templates/`` with autoescaping on for
every file (whatever a topic name, record or client id holds is text in the page, never
markup), the display filters, and ``render`` which adds what every page's layout needs.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import jinja2
from starlette.templating import Jinja2Templates

from kpy.http.console import display

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response

    from kpy.http.app import HttpContext

TEMPLATES = Path(__file__).parent / "templates"
ASSETS = Path(__file__).parent / "static"

# The navigation bar: (route name, label); ``section`` of a page names the one it belongs to.
NAV = (
    ("overview", "Overview"),
    ("topics", "Topics"),
    ("groups", "Groups"),
    ("broker", "Broker"),
    ("clients", "Clients"),
)


def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,  # a misspelt name fails the page, not silently blank
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["bytes"] = display.size_text
    env.filters["thousands"] = display.count_text
    env.filters["duration"] = display.duration_text
    return env


class Pages:
    """Renders the console's templates for one HTTP context."""

    def __init__(self, ctx: HttpContext) -> None:
        self.ctx = ctx
        self.templates = Jinja2Templates(env=environment())

    def render(
        self,
        request: Request,
        template: str,
        *,
        title: str,
        section: str,
        status_code: int = 200,
        flashes: list[tuple[str, str]] | None = None,
        **context: Any,
    ) -> Response:
        """``template`` with ``context`` plus the layout's names (title, navigation, the
        server's bootstrap, flash messages as (``ok``|``error``, text))."""

        def static(path: str) -> str:
            return str(request.url_for("console_assets", path=path))

        return self.templates.TemplateResponse(
            request,
            template,
            {
                "title": title,
                "section": section,
                "nav": NAV,
                "server": self.ctx.server,
                "flashes": flashes or [],
                "static": static,
                **context,
            },
            status_code=status_code,
        )

    def error(
        self, request: Request, status_code: int, title: str, message: str, back_url: str
    ) -> Response:
        """A page saying what failed (a Kafka error's name and message, a bad form value)."""
        return self.render(
            request,
            "error.html",
            title=title,
            section="",
            status_code=status_code,
            message=message,
            back_url=back_url,
        )
