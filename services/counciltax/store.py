"""The council tax store: accounts (one liability period per dwelling) and who is liable.

It holds personal data (liable people's names, addresses), so nothing here logs, and the
engine hides statement parameters from log lines and exception texts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import (
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    insert,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from contracts.addresses import UkAddress
from services.common.council import (
    CouncilStore,
    action_table,
    address_json,
    new_reference,
    property_key,
)

__all__ = ["Account", "CouncilTaxStore", "accounts", "liable", "metadata"]

metadata = MetaData()

accounts = Table(
    "ctax_accounts",
    metadata,
    Column("reference", String(20), primary_key=True),
    Column("property_key", String(400), nullable=False),
    Column("address", Text, nullable=False),
    # NULL: liability began before this platform knew of the account.
    Column("opened_on", Date, nullable=True),
    # The final bill date; NULL while the account is open.
    Column("closed_on", Date, nullable=True),
    Column("adults", Integer, nullable=True),
    Column("discount_percent", Integer, nullable=False, default=0),
    Index("ix_ctax_accounts_property", "property_key", "closed_on"),
)

liable = Table(
    "ctax_liable",
    metadata,
    Column("account", String(20), ForeignKey("ctax_accounts.reference"), nullable=False),
    Column("resident", String(72), nullable=False),
    Column("name", Text, nullable=False),
    PrimaryKeyConstraint("account", "resident", name="pk_ctax_liable"),
)

actions = action_table(metadata, "ctax")


@dataclass(frozen=True)
class Account:
    """An account without its address and names: what tests and ops read back."""

    reference: str
    property_key: str
    opened_on: date | None
    closed_on: date | None
    adults: int | None
    discount_percent: int
    liable: tuple[str, ...]


_ACCOUNT_COLUMNS = (
    accounts.c.reference,
    accounts.c.property_key,
    accounts.c.opened_on,
    accounts.c.closed_on,
    accounts.c.adults,
    accounts.c.discount_percent,
)


class CouncilTaxStore(CouncilStore):
    metadata = metadata
    actions = actions

    @staticmethod
    async def open_accounts_at(conn: AsyncConnection, address: UkAddress) -> list[str]:
        rows = await conn.scalars(
            select(accounts.c.reference)
            .where(accounts.c.property_key == property_key(address), accounts.c.closed_on.is_(None))
            .order_by(accounts.c.reference)
        )
        return list(rows)

    @staticmethod
    async def close_account(conn: AsyncConnection, reference: str, final_bill_date: date) -> None:
        await conn.execute(
            update(accounts)
            .where(accounts.c.reference == reference)
            .values(closed_on=final_bill_date)
        )

    @staticmethod
    async def record_closed(
        conn: AsyncConnection, address: UkAddress, final_bill_date: date
    ) -> str:
        """No open account is known at the address: record that liability ended anyway, so
        the final bill is raised by the billing team."""
        reference = new_reference("CT")
        await conn.execute(
            insert(accounts).values(
                reference=reference,
                property_key=property_key(address),
                address=address_json(address),
                opened_on=None,
                closed_on=final_bill_date,
                discount_percent=0,
            )
        )
        return reference

    @staticmethod
    async def open_account(
        conn: AsyncConnection, address: UkAddress, opened_on: date, adults: int, discount: int
    ) -> str:
        reference = new_reference("CT")
        await conn.execute(
            insert(accounts).values(
                reference=reference,
                property_key=property_key(address),
                address=address_json(address),
                opened_on=opened_on,
                adults=adults,
                discount_percent=discount,
            )
        )
        return reference

    @staticmethod
    async def adults_on(conn: AsyncConnection, reference: str) -> int | None:
        """The adults the account counts; None when it never said."""
        adults: int | None = await conn.scalar(
            select(accounts.c.adults).where(accounts.c.reference == reference)
        )
        return adults

    @staticmethod
    async def review(conn: AsyncConnection, reference: str, adults: int, discount: int) -> None:
        await conn.execute(
            update(accounts)
            .where(accounts.c.reference == reference)
            .values(adults=adults, discount_percent=discount)
        )

    @staticmethod
    async def add_liable(
        conn: AsyncConnection, reference: str, people: list[tuple[str, str]]
    ) -> None:
        """(resident key, name as JSON) for each liable person not yet on the account."""
        known = set(
            await conn.scalars(select(liable.c.resident).where(liable.c.account == reference))
        )
        rows = [
            {"account": reference, "resident": resident, "name": name}
            for resident, name in people
            if resident not in known
        ]
        if rows:
            await conn.execute(insert(liable), rows)

    async def all_accounts(self) -> list[Account]:
        async with self.engine.connect() as conn:
            rows = (
                await conn.execute(select(*_ACCOUNT_COLUMNS).order_by(accounts.c.reference))
            ).all()
            holders: dict[str, list[str]] = {}
            for account, resident in await conn.execute(
                select(liable.c.account, liable.c.resident).order_by(liable.c.resident)
            ):
                holders.setdefault(account, []).append(resident)
        return [
            Account(**row._mapping, liable=tuple(holders.get(row.reference, ()))) for row in rows
        ]
