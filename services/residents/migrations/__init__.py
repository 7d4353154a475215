"""The residents store's schema history (`services.common.migrations`)."""
