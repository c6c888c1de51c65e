"""The mutations of kpy that ``python -m conformance.mutations`` runs the suite against.

Each one breaks one Kafka behaviour with an exact text replacement in one file under kpy/.
``old`` must occur exactly once in that file (tests/test_mutations.py checks it against the
current source); ``checks`` is the pytest -k expression selecting the conformance checks the
mutation should make fail (None runs the whole suite). Where ``new`` needs a remark, it
carries a ``# mutation:`` comment, so a copy that ran can be read on its own.
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
