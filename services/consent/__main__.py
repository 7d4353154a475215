"""`python -m services.consent`: the consent activities, the consent API and its relay."""

from __future__ import annotations

import asyncio

from services.consent.worker import main

if __name__ == "__main__":
    asyncio.run(main())
