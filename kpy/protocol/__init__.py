"""Sans-IO Kafka protocol: generated message codecs, framing, record batches, compression.

Nothing in this package performs I/O or imports trio; it turns bytes into objects and back.
"""
