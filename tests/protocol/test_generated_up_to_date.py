"""The committed generated modules equal a fresh generation from Kafka's schemas."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from kpy.protocol._codegen import generator

SCHEMAS = Path(os.environ.get("KAFKA_SCHEMAS", generator.DEFAULT_SCHEMAS))


@pytest.mark.skipif(
    not (SCHEMAS / "messages").is_dir(),
    reason=f"Kafka's schemas are not at {SCHEMAS} (set KAFKA_SCHEMAS to check generated code)",
)
def test_generated_files_are_fresh():
    files = generator.render_all(SCHEMAS)
    stale = [str(p) for p, text in files.items() if not p.exists() or p.read_text() != text]
    assert not stale, f"run `make generate`; stale: {stale}"
    committed = {p.name for p in (generator.PROTOCOL_DIR / "messages").glob("*.py")}
    assert committed == {p.name for p in files if p.parent.name == "messages"}


def test_generated_code_carries_no_schema_prose():
    # The schemas' "about" strings stay out of the generated modules.
    text = (generator.PROTOCOL_DIR / "messages" / "produce.py").read_text()
    assert "The transactional ID" not in text
    assert "about" not in text.lower()
