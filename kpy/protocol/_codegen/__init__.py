"""kpy's code generator for Kafka message schemas (see generator.py)."""
