"""``Client``: requests to a Kafka cluster, routed as Kafka's clients route them.

It keeps the cluster's metadata (brokers, topics, partition leaders), one transport per
broker it has talked to, and sends each generated request at the newest version both sides
speak: to any broker, to a partition's leader, to a group's or transaction's coordinator, or
to the controller (as admin clients do for CreateTopics and friends, which Kafka forwards
when the broker is not the controller). Error codes in answers are left to the caller, which
turns the ones it cannot handle into ``ClientError`` with ``check``.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import trio

from kpy.client.transport import (
    API_VERSIONS,
    LocalTransport,
    SocketTransport,
    Transport,
    TransportClosed,
    api_versions_request,
    newest_common,
)
from kpy.protocol.error_codes import ErrorCode
from kpy.protocol.messages.find_coordinator import FindCoordinatorRequest
from kpy.protocol.messages.metadata import MetadataRequest
from kpy.protocol.primitives import UnsupportedVersion

if TYPE_CHECKING:
    from kpy.broker import Broker

DEFAULT_BOOTSTRAP = "localhost:9092"
GROUP_KEY, TRANSACTION_KEY = 0, 1


class ClientError(Exception):
    """A request failed with a Kafka error code (``name`` is Kafka's name for it) or could not
    be sent at all (code None)."""

    def __init__(self, code: int | None, message: str) -> None:
        self.code = code
        self.name = error_name(code) if code is not None else "NETWORK_EXCEPTION"
        super().__init__(message)

    def __str__(self) -> str:
        text = super().__str__()
        return f"{self.name}: {text}" if text else self.name


def error_name(code: int) -> str:
    try:
        return ErrorCode(code).name
    except ValueError:
        return f"UNKNOWN_ERROR_{code}"


def check(code: int, what: str, message: str | None = None) -> None:
    """Raise ClientError unless ``code`` is NONE; ``what`` says which request or item failed."""
    if code:
        raise ClientError(code, f"{what}" + (f": {message}" if message else ""))


def parse_bootstrap(text: str) -> list[tuple[str, int]]:
    """``host:port[,host:port...]`` (IPv6 hosts in brackets) as (host, port) pairs."""
    out = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        host, sep, port = part.rpartition(":")
        if not sep or not port.isdigit():
            raise ValueError(f"broker address {part!r} is not HOST:PORT")
        out.append((host.strip("[]") or "localhost", int(port)))
    if not out:
        raise ValueError("no broker address given")
    return out


@dataclass(slots=True)
class BrokerNode:
    node_id: int
    host: str
    port: int
    rack: str | None = None


@dataclass(slots=True)
class Cluster:
    """What the last Metadata answer said."""

    cluster_id: str | None = None
    controller_id: int = -1
    brokers: dict[int, BrokerNode] = field(default_factory=dict)
    topics: dict[str, Any] = field(default_factory=dict)  # name -> MetadataResponseTopic

    def leader(self, topic: str, partition: int) -> int | None:
        t = self.topics.get(topic)
        if t is None:
            return None
        for p in t.partitions:
            if p.partition_index == partition:
                return p.leader_id if p.leader_id >= 0 else None
        return None


class Client:
    """Connections to one cluster. Use as ``async with Client.connect(bootstrap) as c``, or
    ``Client.local(broker)`` inside a broker's process (no sockets)."""

    def __init__(
        self, bootstrap: str, client_id: str = "kpy", *, local: Broker | None = None
    ) -> None:
        self.bootstrap = bootstrap
        self.client_id = client_id
        self.cluster = Cluster()
        self._local = local
        self._bootstrap_transport: Transport | None = None
        self._transports: dict[int, Transport] = {}
        self._coordinators: dict[tuple[int, str], int] = {}

    @classmethod
    def connect(cls, bootstrap: str = DEFAULT_BOOTSTRAP, client_id: str = "kpy") -> Client:
        parse_bootstrap(bootstrap)  # a malformed address fails here, not at the first request
        return cls(bootstrap, client_id)

    @classmethod
    def local(cls, broker: Broker, client_id: str = "kpy-console") -> Client:
        return cls("local", client_id, local=broker)

    async def __aenter__(self) -> Client:
        await self._any_transport()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        seen = set()
        for t in [self._bootstrap_transport, *self._transports.values()]:
            if t is not None and id(t) not in seen:
                seen.add(id(t))
                with trio.CancelScope(shield=True):
                    await t.aclose()
        self._transports.clear()
        self._bootstrap_transport = None

    # -- transports ------------------------------------------------------------------------

    async def _any_transport(self) -> Transport:
        if self._bootstrap_transport is not None:
            return self._bootstrap_transport
        if self._local is not None:
            self._bootstrap_transport = LocalTransport(self._local, self.client_id)
            return self._bootstrap_transport
        errors = []
        for host, port in parse_bootstrap(self.bootstrap):
            try:
                self._bootstrap_transport = await SocketTransport.connect(
                    host, port, self.client_id
                )
                return self._bootstrap_transport
            except TransportClosed as exc:
                errors.append(str(exc))
        raise ClientError(None, "; ".join(errors))

    async def _node_transport(self, node_id: int) -> Transport:
        transport = self._transports.get(node_id)
        if transport is not None:
            return transport
        if self._local is not None:
            transport = await self._any_transport()
        else:
            node = self.cluster.brokers.get(node_id)
            if node is None:
                await self.refresh_metadata()
                node = self.cluster.brokers.get(node_id)
            if node is None:
                raise ClientError(None, f"broker {node_id} is not in the cluster's metadata")
            try:
                transport = await SocketTransport.connect(node.host, node.port, self.client_id)
            except TransportClosed as exc:
                raise ClientError(None, str(exc)) from exc
        self._transports[node_id] = transport
        return transport

    async def api_versions(self) -> Any:
        """The ApiVersions answer of the broker this client bootstrapped from."""
        transport = await self._any_transport()
        if isinstance(transport, SocketTransport):
            return transport.api_versions
        return await transport.request(API_VERSIONS, 3, api_versions_request())

    # -- sending ---------------------------------------------------------------------------

    async def version(self, api_key: int, node: int | None = None) -> int:
        """The version ``send`` will use for ``api_key`` (to build a request whose fields
        depend on it)."""
        transport = await (self._any_transport() if node is None else self._node_transport(node))
        version = newest_common(api_key, transport.versions)
        if version is None:
            raise ClientError(35, f"the broker does not support API key {api_key} that kpy speaks")
        return version

    async def send(
        self,
        request: Any,
        *,
        node: int | None = None,
        version: int | None = None,
        expect_response: bool = True,
    ) -> Any:
        """Send ``request`` to broker ``node`` (None: the bootstrap connection) at ``version``
        (None: the newest both sides speak) and return the decoded answer."""
        transport = await (self._any_transport() if node is None else self._node_transport(node))
        key = request.API_KEY
        if version is None:
            version = await self.version(key, node)
        try:
            return await transport.request(key, version, request, expect_response=expect_response)
        except TransportClosed as exc:
            raise ClientError(None, str(exc)) from exc
        except UnsupportedVersion as exc:
            # A field set that the chosen version lacks: refused before anything was sent, as
            # Kafka's clients refuse it (UnsupportedVersionException).
            raise ClientError(ErrorCode.UNSUPPORTED_VERSION, str(exc)) from exc
        finally:
            # Lost, or out of step after a request cancelled half-way: the next request to
            # that broker connects again.
            if transport.broken is not None:
                await self._drop(transport)

    async def _drop(self, transport: Transport) -> None:
        """Forget ``transport`` (the next request to its broker connects again) and close it."""
        if self._bootstrap_transport is transport:
            self._bootstrap_transport = None
        for node, t in list(self._transports.items()):
            if t is transport:
                del self._transports[node]
        with trio.CancelScope(shield=True):
            await transport.aclose()

    async def metadata(self, topics: list[str] | None = None, *, auto_create: bool = False) -> Any:
        """Ask for metadata (all topics when ``topics`` is None), remember it as ``cluster``
        and return the raw answer. With ``auto_create`` a broker with
        auto.create.topics.enable creates missing ``topics``, as producers ask it to."""
        request = MetadataRequest(
            topics=None
            if topics is None
            else [MetadataRequest.MetadataRequestTopic(name=t) for t in topics],
            allow_auto_topic_creation=auto_create,
        )
        answer = await self.send(request)
        cluster = self.cluster
        cluster.cluster_id = answer.cluster_id
        cluster.controller_id = answer.controller_id
        cluster.brokers = {
            b.node_id: BrokerNode(b.node_id, b.host, b.port, b.rack) for b in answer.brokers
        }
        if topics is None:
            cluster.topics = {}
        for t in answer.topics:
            if t.error_code == 0:
                cluster.topics[t.name] = t
            else:
                cluster.topics.pop(t.name, None)
        return answer

    async def refresh_metadata(
        self, topics: list[str] | None = None, *, auto_create: bool = False
    ) -> Cluster:
        """``metadata``, returning what the client now knows of the cluster."""
        await self.metadata(topics, auto_create=auto_create)
        return self.cluster

    async def leader_of(self, topic: str, partition: int) -> int:
        leader = self.cluster.leader(topic, partition)
        if leader is None:
            await self.refresh_metadata([topic])
            leader = self.cluster.leader(topic, partition)
        if leader is None:
            t = self.cluster.topics.get(topic)
            code = 3 if t is None or partition >= len(t.partitions) else 5
            raise ClientError(code, f"{topic}-{partition} has no leader")
        return leader

    async def send_to_leader(self, topic: str, partition: int, request: Any, **kw: Any) -> Any:
        return await self.send(request, node=await self.leader_of(topic, partition), **kw)

    async def send_to_controller(self, request: Any, **kw: Any) -> Any:
        """Admin requests go to the controller Metadata names (any broker forwards them)."""
        if self.cluster.controller_id < 0 or not self.cluster.brokers:
            await self.refresh_metadata([])
        node = self.cluster.controller_id
        return await self.send(request, node=node if node in self.cluster.brokers else None, **kw)

    async def coordinator(self, key: str, key_type: int = GROUP_KEY) -> int:
        """The node id coordinating group (or transactional id) ``key``; retried while the
        coordinator is loading or not yet available, as clients do."""
        cached = self._coordinators.get((key_type, key))
        if cached is not None:
            return cached
        version = await self.version(FindCoordinatorRequest.API_KEY)
        if version >= 4:  # batched (KIP-699)
            request = FindCoordinatorRequest(key_type=key_type, coordinator_keys=[key])
        else:
            request = FindCoordinatorRequest(key=key, key_type=key_type)
        for attempt in itertools.count():
            answer = await self.send(request, version=version)
            entry = answer.coordinators[0] if answer.coordinators else answer
            if entry.error_code in (14, 15) and attempt < 50:  # loading / not available yet
                await trio.sleep(0.1)
                continue
            check(entry.error_code, f"FindCoordinator for {key!r}", entry.error_message)
            self.cluster.brokers.setdefault(
                entry.node_id, BrokerNode(entry.node_id, entry.host, entry.port)
            )
            self._coordinators[(key_type, key)] = entry.node_id
            return entry.node_id
        raise AssertionError("not reached")

    def forget_coordinator(self, key: str, key_type: int = GROUP_KEY) -> None:
        """Ask FindCoordinator again next time (the coordinator moved or is not ready)."""
        self._coordinators.pop((key_type, key), None)

    async def send_to_coordinator(
        self, key: str, request: Any, key_type: int = GROUP_KEY, **kw: Any
    ) -> Any:
        return await self.send(request, node=await self.coordinator(key, key_type), **kw)
