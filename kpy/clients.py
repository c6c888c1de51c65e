"""What the broker knows of each client connection, for the console and the metrics.

``ClientState`` is a connection's mutable part that dispatch fills in: the client software's
name and version from an accepted ApiVersions v3+ request (KIP-511), as Kafka's network layer
registers them. ``ClientInfo`` is a snapshot of one live connection (``Broker.clients()``);
requests per second follow from two snapshots' ``requests`` and the time between them.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)
class ClientState:
    """Set by dispatch: the software a client named in ApiVersions (None until it does)."""

    software_name: str | None = None
    software_version: str | None = None


@dataclass(frozen=True, slots=True)
class ClientInfo:
    """One live connection: its id, the client's address (host:port), the listener it came
    through, the client id of its latest request, the software it named, when it connected
    (wall clock, seconds) and how many requests and bytes it sent and received so far."""

    connection_id: str
    address: str
    listener: str
    client_id: str | None
    software_name: str | None
    software_version: str | None
    connected_at: float
    requests: int
    bytes_in: int
    bytes_out: int
