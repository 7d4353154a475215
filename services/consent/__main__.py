"""`python -m services.consent`: the consent activities, the consent API and its relay."""

from __future__ import annotations

from services.consent.worker import main

if __name__ == "__main__":
    main()
