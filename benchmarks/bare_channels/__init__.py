"""A bare Channels baseline for benchmarks/fanout.py: one JSON consumer group, group_send, in-memory layer."""
