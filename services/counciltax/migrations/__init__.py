"""The counciltax store's schema history (`services.common.migrations`)."""
