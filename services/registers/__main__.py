"""`python -m services.registers`: the council registers activities, task queue
`council-registers`."""

from __future__ import annotations

from services.common.council import run_service
from services.registers.activities import RegistersActivities
from services.registers.store import RegistersStore

if __name__ == "__main__":
    run_service("registers", RegistersStore, RegistersActivities.serving)
