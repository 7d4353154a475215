"""`python -m services.benefits`: the benefits activities, task queue `benefits`."""

from __future__ import annotations

from services.benefits.activities import BenefitActivities
from services.benefits.store import BenefitStore
from services.common.council import run_service

if __name__ == "__main__":
    run_service("benefits", BenefitStore, BenefitActivities.serving)
