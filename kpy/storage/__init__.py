"""kpy's storage engine: Kafka-layout partition logs on disk (synchronous, no trio)."""
