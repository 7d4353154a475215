"""The portal store's schema history (`services.common.migrations`)."""
