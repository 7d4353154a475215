"""The consent store's schema history (`services.common.migrations`)."""
