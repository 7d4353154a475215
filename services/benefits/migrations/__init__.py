"""The benefits store's schema history (`services.common.migrations`)."""
