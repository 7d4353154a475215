"""`python -m services.residents`: the resident index's Temporal activities."""

from __future__ import annotations

from services.residents.worker import main

if __name__ == "__main__":
    main()
