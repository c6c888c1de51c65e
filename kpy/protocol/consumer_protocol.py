"""The consumer embedded protocol: what consumers put in JoinGroup metadata.

ConsumerProtocolSubscription is an int16 version followed by an array of topic names (and
later fields the broker does not need). The broker reads the topics to answer OffsetDelete
with GROUP_SUBSCRIBED_TO_TOPIC.
"""

from __future__ import annotations

from kpy.protocol.primitives import ProtocolError, Reader


def parse_subscription(metadata: bytes) -> set[str]:
    """Topic names of a ConsumerProtocolSubscription; empty if it cannot be read."""
    try:
        r = Reader(metadata)
        r.int16()
        n = r.array_len()
        return {r.string() for _ in range(max(n, 0))}
    except (ProtocolError, ValueError):
        return set()
