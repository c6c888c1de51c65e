"""kpy's Kafka client: a small trio client on kpy's own generated protocol classes, for the
``kpy`` CLI, the web console (in the broker's process, through ``Client.local``) and the
pytest plugin. It speaks to any Kafka-compatible broker.

Why not a client library: the Python clients either wrap librdkafka (a native library run on
its own threads, which the trio broker's console cannot share, and which hides ApiVersions,
finalized features and raw error codes the CLI shows) or are pure-Python on asyncio or
threads. kpy already generates every request and response at every version for the broker;
the client is the thin routing layer on top (metadata, leaders, coordinators).
"""

from kpy.client.client import DEFAULT_BOOTSTRAP, Client, ClientError, check, error_name

__all__ = ["DEFAULT_BOOTSTRAP", "Client", "ClientError", "check", "error_name"]
