"""`python -m services.notifications`: the notification activities, task queue
`notifications`."""

from __future__ import annotations

from services.common.council import run_worker
from services.notifications.activities import NotificationActivities
from services.notifications.store import NotificationStore

if __name__ == "__main__":
    run_worker("notifications", NotificationStore, NotificationActivities.serving)
