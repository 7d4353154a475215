"""Cross-cutting code every service shares: settings, logging, Kafka, Temporal, probes."""
