"""Life Events services: one deployable process per sub-package, plus `common`."""
