"""The embedded default: Kafka (KRaft) and the Temporal dev server as plain processes."""
