"""The handler registry: the table that answers ApiVersions without importing any handler
matches what the handler modules register."""

from __future__ import annotations

from pathlib import Path

import kpy.handlers
from kpy import dispatch
from kpy.handlers import HANDLERS


def test_handler_table_matches_the_registrations():
    dispatch.load_handlers()
    assert dispatch.registered_versions() == dispatch.supported_versions()
    for key, (module, _, _) in HANDLERS.items():
        assert dispatch.REGISTRY[key].handler.__module__ == f"kpy.handlers.{module}"


def test_every_handler_module_is_in_the_table():
    modules = {p.stem for p in Path(kpy.handlers.__file__).parent.glob("api_*.py")}
    assert modules == {module for module, _, _ in HANDLERS.values()}
