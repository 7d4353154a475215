"""The partners store's schema history (`services.common.migrations`)."""
