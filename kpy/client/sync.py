"""A synchronous face of ``kpy.client.admin`` for scripts and tests that do not run trio:
``Admin(bootstrap).create_topic("t", 3)``. Each call connects, runs the operation in its own
``trio.run`` and closes (a loopback connection costs about a millisecond), so an Admin holds
no socket between calls and is safe to share. Not for use inside a running trio loop: there,
``async with Client.connect(...)`` and the functions of kpy.client.admin directly.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import trio

from kpy.client import admin
from kpy.client.client import DEFAULT_BOOTSTRAP, Client


class Admin:
    """Every public coroutine function of kpy.client.admin, as a method without the client."""

    def __init__(self, bootstrap: str = DEFAULT_BOOTSTRAP, client_id: str = "kpy-admin") -> None:
        Client.connect(bootstrap)  # validates the address
        self.bootstrap = bootstrap
        self.client_id = client_id

    def __enter__(self) -> Admin:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def run(self, fn: Callable[..., Awaitable[Any]], *args: Any, **kwargs: Any) -> Any:
        """``await fn(client, *args, **kwargs)`` on a fresh connection."""

        async def call() -> Any:
            async with Client.connect(self.bootstrap, self.client_id) as client:
                return await fn(client, *args, **kwargs)

        return trio.run(call)

    def __getattr__(self, name: str) -> Callable[..., Any]:
        fn = getattr(admin, name, None) if not name.startswith("_") else None
        if fn is None or not callable(fn) or getattr(fn, "__module__", "") != admin.__name__:
            raise AttributeError(f"Admin has no operation {name!r}")
        return lambda *args, **kwargs: self.run(fn, *args, **kwargs)

    def __dir__(self) -> list[str]:
        return sorted(set(super().__dir__()) | {n for n in vars(admin) if not n.startswith("_")})
