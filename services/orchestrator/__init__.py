"""The orchestrator: consumes `lifeevents.v1` and starts one workflow per life event."""
