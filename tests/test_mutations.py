"""The mutation catalogue of conformance/mutations.py still fits the source and the checks.

Cheap on purpose: no broker starts here. ``python -m conformance.mutations`` (or
``make mutations``) runs the mutations themselves.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from conformance.mutation_catalog import MUTATIONS
from conformance.mutations import catalog_problems

CHECKS = Path(__file__).resolve().parents[1] / "conformance" / "checks"


@pytest.mark.timeout(60)
def test_every_mutation_applies_exactly_once_and_compiles():
    assert catalog_problems() == []


@pytest.mark.timeout(60)
def test_every_filter_names_existing_checks():
    source = "\n".join(p.read_text() for p in sorted(CHECKS.glob("test_*.py")))
    tests = set(re.findall(r"^def (test_\w+)", source, re.MULTILINE))
    for m in MUTATIONS:
        words = set(re.findall(r"[\w-]+", m.checks or "")) - {"and", "or", "not"}
        for word in words:
            if word.startswith("test_"):
                assert any(word in t for t in tests), f"{m.name}: no check matches {word}"
            else:
                assert word in source, f"{m.name}: no check parameter {word}"


@pytest.mark.timeout(60)
def test_catalog_problems_are_reported():
    from conformance.mutation_catalog import Mutation

    stale = Mutation("stale", "broker.py", "no such text\n", "x\n", None, "nothing")
    broken = Mutation("broken", "broker.py", "class Broker:\n", "class Broker(\n", None, "x")
    problems = catalog_problems([stale, broken, stale])
    assert any("duplicate mutation name stale" in p for p in problems)
    assert any("stale: the old text occurs 0 times" in p for p in problems)
    assert any("broken: the mutated kpy/broker.py does not compile" in p for p in problems)
