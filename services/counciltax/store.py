"""The council tax store: accounts (one liability period per dwelling) and who is liable.

Besides the account and its liable people: whose liability ended on an account and when
(`ctax_liability_ends`, a death), the exemption an account has (`ctax_exemptions`: Class F
for a deceased's estate), who to contact about it (`ctax_contacts`: the executor), and when a
discount began (`ctax_discounts`). Facts added since the first release have tables of their
own, so a store made before them keeps working (tables are created when missing; there are
no migrations yet).

It holds personal data (liable people's names, addresses, an executor's contact details),
so nothing here logs, and the engine hides statement parameters from log lines and
exception texts.
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
    delete,
    func,
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
from services.common.journal import journal_table
from services.common.migrations import Migrations

__all__ = [
    "Account",
    "AccountContact",
    "CouncilTaxStore",
    "LiabilityEnd",
    "accounts",
    "contacts",
    "discounts",
    "exemptions",
    "liability_ends",
    "liable",
    "metadata",
]

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

# A liable person's liability that ended while the account stayed (or until it closed):
# the person is no longer in `ctax_liable`; this says who, when, and why.
liability_ends = Table(
    "ctax_liability_ends",
    metadata,
    Column("account", String(20), ForeignKey("ctax_accounts.reference"), nullable=False),
    Column("resident", String(72), nullable=False),
    Column("ended_on", Date, nullable=False),
    Column("reason", String(16), nullable=False),  # death
    PrimaryKeyConstraint("account", "resident", name="pk_ctax_liability_ends"),
)

exemptions = Table(
    "ctax_exemptions",
    metadata,
    Column("account", String(20), ForeignKey("ctax_accounts.reference"), primary_key=True),
    Column("exemption_class", String(4), nullable=False),  # F: a deceased's estate
    Column("starts_on", Date, nullable=False),
)

# Who to write to about an account nobody lives in (the executor of the estate, or the
# informant of the death when no executor is named).
contacts = Table(
    "ctax_contacts",
    metadata,
    Column("account", String(20), ForeignKey("ctax_accounts.reference"), primary_key=True),
    Column("role", String(16), nullable=False),  # executor | informant
    Column("resident", String(72), nullable=False),
    Column("name", Text, nullable=False),  # PersonName as JSON
    Column("details", Text, nullable=False),  # PersonContact as JSON
)

discounts = Table(
    "ctax_discounts",
    metadata,
    Column("account", String(20), ForeignKey("ctax_accounts.reference"), nullable=False),
    Column("percent", Integer, nullable=False),
    Column("starts_on", Date, nullable=False),
    PrimaryKeyConstraint("account", "starts_on", name="pk_ctax_discounts"),
)

actions = action_table(metadata, "ctax")
journal = journal_table(metadata, "ctax")


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


@dataclass(frozen=True)
class LiabilityEnd:
    account: str
    resident: str
    ended_on: date
    reason: str


@dataclass(frozen=True)
class AccountContact:
    """Who is written to about an account, without their name or details."""

    account: str
    role: str
    resident: str


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
    migrations = Migrations.beside(__file__, "counciltax", metadata)
    actions = actions
    journal = journal

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
        conn: AsyncConnection,
        address: UkAddress,
        opened_on: date | None,
        adults: int,
        discount: int,
        *,
        reference: str | None = None,
    ) -> str:
        """A new open account (`reference` given: the demo's fixed one)."""
        reference = reference or new_reference("CT")
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

    async def add_account(
        self,
        reference: str,
        address: UkAddress,
        adults: int,
        people: list[tuple[str, str]],
        opened_on: date | None = None,
    ) -> bool:
        """An open account with a fixed reference and its liable people, unless the
        reference is held already (seeding is idempotent); True when added."""
        async with self.engine.begin() as conn:
            held = await conn.scalar(
                select(accounts.c.reference).where(accounts.c.reference == reference)
            )
            if held is not None:
                return False
            await self.open_account(conn, address, opened_on, adults, 0, reference=reference)
            await self.add_liable(conn, reference, people)
            return True

    @staticmethod
    async def liable_on(conn: AsyncConnection, reference: str) -> list[str]:
        rows = await conn.scalars(
            select(liable.c.resident)
            .where(liable.c.account == reference)
            .order_by(liable.c.resident)
        )
        return list(rows)

    @staticmethod
    async def end_liability(
        conn: AsyncConnection, reference: str, resident: str, ended_on: date, reason: str
    ) -> None:
        """The resident is no longer liable on the account from the day after `ended_on`:
        taken off the account, and the end recorded (whether or not the account listed
        them: a liability that began before this platform may not have)."""
        await conn.execute(
            delete(liable).where(liable.c.account == reference, liable.c.resident == resident)
        )
        await conn.execute(
            delete(liability_ends).where(
                liability_ends.c.account == reference, liability_ends.c.resident == resident
            )
        )
        await conn.execute(
            insert(liability_ends).values(
                account=reference, resident=resident, ended_on=ended_on, reason=reason
            )
        )

    @staticmethod
    async def liability_ended_at(
        conn: AsyncConnection, address: UkAddress, resident: str, reason: str
    ) -> tuple[str, date] | None:
        """(account, day) the resident's liability at the address ended for `reason`, when
        that was recorded already (by an earlier workflow about the same death)."""
        row = (
            await conn.execute(
                select(liability_ends.c.account, liability_ends.c.ended_on)
                .join(accounts, accounts.c.reference == liability_ends.c.account)
                .where(
                    accounts.c.property_key == property_key(address),
                    liability_ends.c.resident == resident,
                    liability_ends.c.reason == reason,
                )
                .order_by(liability_ends.c.ended_on.desc())
            )
        ).first()
        return None if row is None else (row.account, row.ended_on)

    @staticmethod
    async def exempt(
        conn: AsyncConnection, reference: str, exemption_class: str, starts_on: date
    ) -> None:
        await conn.execute(
            insert(exemptions).values(
                account=reference, exemption_class=exemption_class, starts_on=starts_on
            )
        )

    @staticmethod
    async def set_contact(
        conn: AsyncConnection, reference: str, role: str, resident: str, name: str, details: str
    ) -> None:
        """(name and details as JSON) the one contact of an account nobody lives in."""
        await conn.execute(
            insert(contacts).values(
                account=reference, role=role, resident=resident, name=name, details=details
            )
        )

    @staticmethod
    async def open_accounts_of(conn: AsyncConnection, resident: str) -> list[str]:
        """The open accounts the resident is liable on."""
        rows = await conn.scalars(
            select(accounts.c.reference)
            .join(liable, liable.c.account == accounts.c.reference)
            .where(liable.c.resident == resident, accounts.c.closed_on.is_(None))
            .order_by(accounts.c.reference)
        )
        return list(rows)

    @staticmethod
    async def last_liability_end(conn: AsyncConnection, reference: str, reason: str) -> date | None:
        """The latest day a liability on the account ended for `reason`, if one did."""
        ended: date | None = await conn.scalar(
            select(func.max(liability_ends.c.ended_on)).where(
                liability_ends.c.account == reference, liability_ends.c.reason == reason
            )
        )
        return ended

    @staticmethod
    async def apply_discount(
        conn: AsyncConnection, reference: str, percent: int, starts_on: date
    ) -> None:
        await conn.execute(
            update(accounts)
            .where(accounts.c.reference == reference)
            .values(discount_percent=percent)
        )
        await conn.execute(
            delete(discounts).where(
                discounts.c.account == reference, discounts.c.starts_on == starts_on
            )
        )
        await conn.execute(
            insert(discounts).values(account=reference, percent=percent, starts_on=starts_on)
        )

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
    async def set_adults(conn: AsyncConnection, reference: str, adults: int) -> None:
        await conn.execute(
            update(accounts).where(accounts.c.reference == reference).values(adults=adults)
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

    async def liability_ends(self) -> list[LiabilityEnd]:
        async with self.engine.connect() as conn:
            rows = await conn.execute(
                select(
                    liability_ends.c.account,
                    liability_ends.c.resident,
                    liability_ends.c.ended_on,
                    liability_ends.c.reason,
                ).order_by(liability_ends.c.account, liability_ends.c.resident)
            )
            return [LiabilityEnd(**row._mapping) for row in rows]

    async def exemption_of(self, reference: str) -> tuple[str, date] | None:
        """(class, first day) of the account's exemption, if it has one."""
        async with self.engine.connect() as conn:
            row = (
                await conn.execute(
                    select(exemptions.c.exemption_class, exemptions.c.starts_on).where(
                        exemptions.c.account == reference
                    )
                )
            ).first()
        return None if row is None else (row.exemption_class, row.starts_on)

    async def contact_of(self, reference: str) -> AccountContact | None:
        async with self.engine.connect() as conn:
            row = (
                await conn.execute(
                    select(contacts.c.account, contacts.c.role, contacts.c.resident).where(
                        contacts.c.account == reference
                    )
                )
            ).first()
        return None if row is None else AccountContact(**row._mapping)

    async def discounts_of(self, reference: str) -> list[tuple[int, date]]:
        """(percent, first day) of each discount recorded on the account, oldest first."""
        async with self.engine.connect() as conn:
            rows = await conn.execute(
                select(discounts.c.percent, discounts.c.starts_on)
                .where(discounts.c.account == reference)
                .order_by(discounts.c.starts_on)
            )
            return [(row.percent, row.starts_on) for row in rows]
