"""kpy: a Kafka wire-protocol-compatible broker written in Python on trio."""

__version__ = "0.1.0"
