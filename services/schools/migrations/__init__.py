"""The schools store's schema history (`services.common.migrations`)."""
