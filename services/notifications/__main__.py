"""`python -m services.notifications`: the notification activities, task queue
`notifications`."""

from __future__ import annotations

from services.notifications.worker import main

if __name__ == "__main__":
    main()
