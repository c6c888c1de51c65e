"""The web console: server-rendered pages of a broker's topics, messages, groups, configs and
clients, with a little JavaScript (text search, live rate charts) and no build step.

Pages ask the broker what a Kafka client would ask, through kpy.client on the broker's own
request path (``Client.local``), so the console, the ``kpy`` CLI and any Kafka tool agree.
Templates are in ``templates/`` (autoescaped), the stylesheet and script in ``static/``,
served at ``/console/assets/``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.routing import BaseRoute, Mount
from starlette.staticfiles import StaticFiles

from kpy.http.console.cluster import ClusterPages
from kpy.http.console.groups import GroupPages
from kpy.http.console.templating import ASSETS, Pages
from kpy.http.console.topics import TopicPages

if TYPE_CHECKING:
    from kpy.http.app import HttpContext


def routes(ctx: HttpContext) -> list[BaseRoute]:
    """The console's routes, mounted at ``/`` by kpy.http.app."""
    pages = Pages(ctx)
    return [
        *ClusterPages(ctx, pages).routes(),
        *TopicPages(ctx, pages).routes(),
        *GroupPages(ctx, pages).routes(),
        Mount("/console/assets", StaticFiles(directory=ASSETS), name="console_assets"),
    ]
