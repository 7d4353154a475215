"""`python -m services.electoral`: the electoral activities, task queue `electoral-services`."""

from __future__ import annotations

from services.common.council import run_service
from services.electoral.activities import ElectoralActivities
from services.electoral.store import ElectoralStore

if __name__ == "__main__":
    run_service("electoral", ElectoralStore, ElectoralActivities.serving)
