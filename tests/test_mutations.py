"""The mutation list of conformance/mutations.py still applies to the current source.

The mutation runs themselves (`make mutations`) start a broker per mutation and are not part
of the suite; this only checks that no mutation has gone stale after a refactoring.
"""

from __future__ import annotations

import pytest

from conformance import mutations


def test_every_mutation_applies_exactly_once():
    assert mutations.check_all_apply() == []


def test_a_stale_mutation_is_reported(tmp_path):
    stale = mutations.Mutation("stale", "nothing", "dispatch.py", "no such text", "x")
    package = tmp_path / "kpy"
    package.mkdir()
    (package / "dispatch.py").write_text("something else\n")
    with pytest.raises(SystemExit, match="found 0 times"):
        mutations.apply(stale, package)


def test_mutations_change_the_source(tmp_path):
    # Applying each mutation to a copy changes exactly the text it names.
    for m in mutations.MUTATIONS:
        assert m.old != m.new, m.name
        source = (mutations.ROOT / "kpy" / m.path).read_text()
        target = tmp_path / m.name / "kpy" / m.path
        target.parent.mkdir(parents=True)
        target.write_text(source)
        mutations.apply(m, tmp_path / m.name / "kpy")
        assert target.read_text() == source.replace(m.old, m.new)
