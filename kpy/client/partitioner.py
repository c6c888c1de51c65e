"""Which partition a keyed record goes to, as the Java client's default partitioner picks it.

Kafka's clients agree on keyed placement only when they use the same hash: the Java client
(and librdkafka's ``murmur2_random``, franz-go's ``StickyKeyPartitioner``) hash the key's
bytes with Kafka's variant of MurmurHash2 (seed 0x9747b28c), clear the sign bit and take it
modulo the partition count. kpy does the same, so a key lands where a Java producer would put
it and compacted topics keep one partition per key whoever writes them.
"""

from __future__ import annotations

_M = 0x5BD1E995
_MASK = 0xFFFFFFFF
_SEED = 0x9747B28C


def murmur2(data: bytes) -> int:
    """Kafka's ``Utils.murmur2``: a signed 32-bit hash of ``data``."""
    length = len(data)
    h = (_SEED ^ length) & _MASK
    whole = length - length % 4
    for i in range(0, whole, 4):
        k = data[i] | data[i + 1] << 8 | data[i + 2] << 16 | data[i + 3] << 24
        k = (k * _M) & _MASK
        k ^= k >> 24
        k = (k * _M) & _MASK
        h = (h * _M) & _MASK
        h ^= k
    tail = length % 4
    if tail == 3:
        h ^= data[whole + 2] << 16
    if tail >= 2:
        h ^= data[whole + 1] << 8
    if tail >= 1:
        h ^= data[whole]
        h = (h * _M) & _MASK
    h ^= h >> 13
    h = (h * _M) & _MASK
    h ^= h >> 15
    return h - (1 << 32) if h & 0x80000000 else h


def partition_for_key(key: bytes, partitions: int) -> int:
    """The partition the Java client's default partitioner gives ``key`` among
    ``partitions`` (``toPositive(murmur2(key)) % partitions``)."""
    return (murmur2(key) & 0x7FFFFFFF) % partitions
