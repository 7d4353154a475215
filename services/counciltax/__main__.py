"""`python -m services.counciltax`: the council tax activities, task queue `council-tax`."""

from __future__ import annotations

from services.common.council import run_service
from services.counciltax.activities import CouncilTaxActivities
from services.counciltax.store import CouncilTaxStore

if __name__ == "__main__":
    run_service("counciltax", CouncilTaxStore, CouncilTaxActivities.serving)
