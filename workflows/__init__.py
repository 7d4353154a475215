"""Temporal workflows (deterministic code only), the service catalogue and the workflow worker."""
