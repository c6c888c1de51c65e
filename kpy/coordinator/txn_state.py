"""Transaction state: Kafka's TransactionState ids and the transitions it allows, as a table.

The ids are those stored in TransactionLogValue.transaction_status. ``TRANSITIONS[new]`` is
the set of states a transaction may be in to move to ``new`` (Kafka's validPreviousStates,
read from kafka-transaction-coordinator 4.4)::

    Empty             <- Empty, CompleteCommit, CompleteAbort
    Ongoing           <- Ongoing, Empty, CompleteCommit, CompleteAbort
    PrepareCommit     <- Ongoing
    PrepareAbort      <- Ongoing, PrepareEpochFence, Empty, CompleteCommit, CompleteAbort
    CompleteCommit    <- PrepareCommit
    CompleteAbort     <- PrepareAbort
    Dead              <- Empty, CompleteAbort, CompleteCommit
    PrepareEpochFence <- Ongoing

``TxnMetadata.transitioned`` checks a change against the table and returns the changed copy,
so that the coordinator writes the new state before it applies it (write, then apply). Pure:
no trio, no I/O.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from kpy.coordinator.offsets import CommittedOffset

EMPTY, ONGOING, PREPARE_COMMIT, PREPARE_ABORT, COMPLETE_COMMIT, COMPLETE_ABORT, DEAD = range(7)
PREPARE_EPOCH_FENCE = 7
STATE_NAMES = {
    EMPTY: "Empty",
    ONGOING: "Ongoing",
    PREPARE_COMMIT: "PrepareCommit",
    PREPARE_ABORT: "PrepareAbort",
    COMPLETE_COMMIT: "CompleteCommit",
    COMPLETE_ABORT: "CompleteAbort",
    DEAD: "Dead",
    PREPARE_EPOCH_FENCE: "PrepareEpochFence",
}
STATE_BY_NAME = {v.lower(): k for k, v in STATE_NAMES.items()}

_COMPLETE = frozenset({COMPLETE_COMMIT, COMPLETE_ABORT})
TRANSITIONS: dict[int, frozenset[int]] = {
    EMPTY: frozenset({EMPTY}) | _COMPLETE,
    ONGOING: frozenset({ONGOING, EMPTY}) | _COMPLETE,
    PREPARE_COMMIT: frozenset({ONGOING}),
    PREPARE_ABORT: frozenset({ONGOING, PREPARE_EPOCH_FENCE, EMPTY}) | _COMPLETE,
    COMPLETE_COMMIT: frozenset({PREPARE_COMMIT}),
    COMPLETE_ABORT: frozenset({PREPARE_ABORT}),
    DEAD: frozenset({EMPTY}) | _COMPLETE,
    PREPARE_EPOCH_FENCE: frozenset({ONGOING}),
}
# States in which a transaction is being completed: requests for it wait (CONCURRENT_TRANSACTIONS).
COMPLETING = frozenset({PREPARE_COMMIT, PREPARE_ABORT, PREPARE_EPOCH_FENCE})
# States without an open transaction, in which an id can expire.
IDLE = frozenset({EMPTY, COMPLETE_COMMIT, COMPLETE_ABORT})

TopicPartition = tuple[str, int]


class IllegalTransition(RuntimeError):
    pass


@dataclass
class TxnMetadata:
    transactional_id: str
    producer_id: int
    producer_epoch: int
    timeout_ms: int
    state: int = EMPTY
    partitions: set[TopicPartition] = field(default_factory=set)
    start_ms: int = -1
    last_update_ms: int = -1
    # group id -> offsets of TxnOffsetCommit, applied to the group on commit
    pending_offsets: dict[str, dict[TopicPartition, CommittedOffset]] = field(default_factory=dict)

    def transitioned(self, state: int, **changes: Any) -> TxnMetadata:
        """A copy in ``state`` with ``changes``; IllegalTransition if the table forbids it."""
        if self.state not in TRANSITIONS[state]:
            raise IllegalTransition(
                f"transactional id {self.transactional_id!r}: "
                f"{STATE_NAMES[self.state]} -> {STATE_NAMES[state]}"
            )
        return dataclasses.replace(self, state=state, **changes)

    def apply(self, new: TxnMetadata) -> None:
        """Take the fields of ``new`` (once it is stored)."""
        for f in dataclasses.fields(self):
            setattr(self, f.name, getattr(new, f.name))
