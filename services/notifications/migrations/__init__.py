"""The notifications store's schema history (`services.common.migrations`)."""
