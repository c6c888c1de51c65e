"""kpy's conformance suite: checks any Kafka-compatible broker by its bootstrap address."""
