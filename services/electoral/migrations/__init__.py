"""The electoral store's schema history (`services.common.migrations`)."""
