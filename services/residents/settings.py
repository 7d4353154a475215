"""The resident index's own settings, on top of the shared ones (same `LIFEEVENTS_` prefix)."""

from __future__ import annotations

from pydantic import Field

from services.common.settings import Settings

__all__ = ["ResidentsSettings"]


class ResidentsSettings(Settings):
    residents_database_url: str | None = Field(
        default=None,
        description="SQLAlchemy async URL (postgresql+asyncpg://… for PostgreSQL); default "
        "sqlite+aiosqlite:///<var_dir>/residents/residents.db.",
    )

    @property
    def database_url(self) -> str:
        if self.residents_database_url:
            return self.residents_database_url
        return f"sqlite+aiosqlite:///{self.var_dir / 'residents' / 'residents.db'}"
