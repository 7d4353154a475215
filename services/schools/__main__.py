"""`python -m services.schools`: the school admissions activities, task queue
`school-admissions`."""

from __future__ import annotations

from services.common.council import run_service
from services.schools.activities import SchoolActivities
from services.schools.store import SchoolStore

if __name__ == "__main__":
    run_service("schools", SchoolStore, SchoolActivities.serving)
