"""The README stays true to the code."""

from __future__ import annotations

from pathlib import Path

from kpy.cli import api_versions_table

README = Path(__file__).resolve().parents[1] / "README.md"


def test_api_table_matches_registry():
    text = README.read_text()
    start = text.index("<!-- api-table:start -->\n") + len("<!-- api-table:start -->\n")
    end = text.index("<!-- api-table:end -->")
    assert text[start:end] == api_versions_table(), "update README with `kpy api-versions`"


def test_readme_shows_the_two_commands():
    text = README.read_text()
    assert "make run" in text and "make test" in text
