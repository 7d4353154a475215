"""How Life Events runs: the composition root.

`deploy.cli` is the `lifeevents` command, the one place that wires the services and workflows
together; `deploy.local` is the embedded default stack.
"""
