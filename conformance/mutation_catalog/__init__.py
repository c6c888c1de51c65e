"""The mutations of kpy that ``python -m conformance.mutations`` runs the suite against.

Each one breaks one Kafka behaviour with an exact text replacement, ``old`` -> ``new``, in a
copy of kpy/. ``checks`` is the pytest -k expression selecting the conformance checks the
mutation should make fail (None runs the whole suite); ``breaks`` names the behaviour. Where
``new`` needs a remark, it carries a ``# mutation:`` comment, so a copy that ran can be read
on its own.

Where a mutation applies (``base.locate``); no file is named, so moving code between modules
keeps the catalogue working:

- By default ``old`` must occur exactly once in all of kpy's hand-written modules together
  (every ``kpy/**/*.py`` except generated ones, whose first line is ``# GENERATED``). Give it
  enough context to be unique package-wide, not just in today's file.
- With ``anchor="NAME"`` the mutation is tied to a marker line in the source,
  ``# mutation-point: NAME`` (alone on its line, any indentation), which must stand exactly
  once under kpy/; ``old`` must begin exactly once within the 20 lines after it (``WINDOW``)
  and may be short and leave out indentation, so the code can be moved into or out of a
  class. Markers are for the few places likely to be rewritten (the connection's frame
  buffer, the produce path): the marker travels with the code, and it tells whoever
  rewrites that code that a mutation depends on it. Keep them few; a marker no mutation
  uses is reported.

tests/test_mutations.py checks the catalogue against the current source: unique names, one
place for every mutation, a change that compiles, no marker standing twice or unused. When
code a mutation names is rewritten, change the mutation in the same commit so it still
breaks the same behaviour.
"""

from __future__ import annotations

from conformance.mutation_catalog.admin import ADMIN, OFFSETS
from conformance.mutation_catalog.base import Mutation
from conformance.mutation_catalog.client_path import CONNECTION, FETCH, METADATA, PRODUCE
from conformance.mutation_catalog.coordinators import GROUPS, TRANSACTIONS

__all__ = ["MUTATIONS", "Mutation"]

MUTATIONS: list[Mutation] = (
    CONNECTION + METADATA + PRODUCE + FETCH + OFFSETS + ADMIN + GROUPS + TRANSACTIONS
)
