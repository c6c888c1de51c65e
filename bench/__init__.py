"""Side-by-side benchmarks of kpy against peer Kafka-compatible brokers (`python -m bench`).

Importing this package has no side effects; everything runs from `bench.cli.main`.
"""
