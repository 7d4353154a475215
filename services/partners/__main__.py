"""`python -m services.partners`: the partners activities, task queue `partners`."""

from __future__ import annotations

from services.partners.worker import main

if __name__ == "__main__":
    main()
