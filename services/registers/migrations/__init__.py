"""The registers store's schema history (`services.common.migrations`)."""
