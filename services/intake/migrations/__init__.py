"""The intake store's schema history (`services.common.migrations`)."""
