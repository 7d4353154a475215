"""`python -m services.notifications`: the notification activities, task queue
`notifications`."""

from __future__ import annotations

from services.common.council import run_service
from services.notifications.activities import NotificationActivities
from services.notifications.store import NotificationStore

if __name__ == "__main__":
    run_service("notifications", NotificationStore, NotificationActivities.serving)
