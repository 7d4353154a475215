"""The portal's adapters over the resident index and the notification service's stores, on
real stores (SQLite files under the test's own var folder, where `Settings` puts them),
seeded through the services' own write paths: the index's matching, death and preference
methods, the notification service's `send`. A large-print choice made on the portal's page,
through the real adapter, prints the resident's next letter large."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path

import pytest

from contracts.addresses import UkAddress
from contracts.notifications import Notification
from contracts.people import ContactDetails, PersonName
from contracts.residents import ContactPlan, DeathRecord, PersonDetails, PreferenceUpdate
from deploy.portal_adapters import PortalStores, portal_stores
from services.common.settings import Settings
from services.notifications.activities import NotificationActivities
from services.notifications.channels import Channels
from services.notifications.content import Letterhead
from services.notifications.letters import PrintQueue
from services.notifications.store import NotificationStore
from services.residents.index import MatchRequest, ResidentIndex, open_index
from tests.services.notifications.test_letters import sizes_of, texts
from tests.services.portal.portal_fakes import ALICE, ALICE_EMAIL, BOB, csrf_of, serve, sign_in

EMAIL = "rowan.testbury@example.org"
PHONE = "+442079460123"
HOME = UkAddress(lines=("1 Imaginary Street",), town="Exampletown", postcode="AB1 2DE")


def person(
    given: str, born: date, *, email: str | None = None, phone: str | None = None
) -> PersonDetails:
    contact = ContactDetails(email=email, phone=phone) if email or phone else None
    return PersonDetails(
        name=PersonName(given_names=given, family_name="Testbury"),
        date_of_birth=born,
        contact=contact,
        address=HOME,
    )


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(var_dir=tmp_path / "var")


@pytest.fixture
async def stores(settings: Settings) -> AsyncIterator[PortalStores]:
    async with portal_stores(settings) as opened:
        yield opened


@pytest.fixture
async def index(settings: Settings, stores: PortalStores) -> AsyncIterator[ResidentIndex]:
    """The resident index as its own process would open it: the same file, another engine."""
    opened = await open_index(settings.database_url("residents"))
    yield opened
    await opened.store.close()


async def resident(index: ResidentIndex, who: PersonDetails, workflow_id: str | None = None) -> str:
    request = None if workflow_id is None else MatchRequest(f"{workflow_id}/m", workflow_id, "m")
    [match] = await index.match_people([who], request)
    assert match.resident is not None
    return match.resident


async def died(index: ResidentIndex, key: str) -> None:
    await index.mark_deceased(
        DeathRecord(
            resident=key, date_of_death=date(2026, 1, 5), workflow_id="death-1", step="index"
        )
    )


async def test_a_resident_is_found_by_their_email_or_phone_as_the_index_holds_it(
    stores: PortalStores, index: ResidentIndex
) -> None:
    rowan = await resident(index, person("Rowan", date(1975, 6, 1), email=EMAIL, phone=PHONE))
    directory = stores.directory

    assert await directory.resident_with_email(EMAIL) == rowan
    # Normalised as the contract normalises it: the domain's case, spaces around.
    assert await directory.resident_with_email(" rowan.testbury@EXAMPLE.ORG ") == rowan
    assert await directory.resident_with_phone("020 7946 0123") == rowan
    assert await directory.resident_with_phone(PHONE) == rowan

    assert await directory.resident_with_email("someone.else@example.org") is None
    assert await directory.resident_with_email("not an address") is None
    assert await directory.resident_with_phone("+442079460999") is None
    assert await directory.resident_with_phone("12") is None


async def test_a_shared_contact_finds_nobody_until_only_one_holder_is_living(
    stores: PortalStores, index: ResidentIndex
) -> None:
    rowan = await resident(index, person("Rowan", date(1975, 6, 1), email=EMAIL))
    sam = await resident(index, person("Sam", date(1977, 2, 3), email=EMAIL))
    directory = stores.directory
    assert rowan != sam

    assert await directory.resident_with_email(EMAIL) is None

    await died(index, sam)
    assert await directory.resident_with_email(EMAIL) == rowan
    await died(index, rowan)
    assert await directory.resident_with_email(EMAIL) is None


async def test_the_contact_plan_is_the_indexs_and_preferences_change_it(
    stores: PortalStores, index: ResidentIndex
) -> None:
    rowan = await resident(index, person("Rowan", date(1975, 6, 1), email=EMAIL))
    directory = stores.directory

    assert await directory.contact_plan(rowan) == ContactPlan(
        resident=rowan, deceased=False, channels=("email", "letter"), email=EMAIL, address=HOME
    )

    await directory.set_preferences(
        PreferenceUpdate(resident=rowan, channels=("portal", "letter"), portal_account=True)
    )

    assert await directory.contact_plan(rowan) == ContactPlan(
        resident=rowan, deceased=False, channels=("portal", "letter"), address=HOME
    )
    assert (await index.contact_for(rowan)).channels == ("portal", "letter")

    await died(index, rowan)
    assert await directory.contact_plan(rowan) == ContactPlan(
        resident=rowan, deceased=True, channels=()
    )
    with pytest.raises(LookupError):
        await directory.contact_plan("res_nobody0000000001")
    with pytest.raises(LookupError):
        await directory.set_preferences(
            PreferenceUpdate(resident="res_nobody0000000001", portal_account=True)
        )


async def test_life_events_are_the_workflows_about_the_resident_newest_first(
    stores: PortalStores, index: ResidentIndex
) -> None:
    rowan_then = person("Rowan", date(1975, 6, 1))
    rowan = await resident(index, rowan_then, "lifeevent-first")
    sam = await resident(index, person("Sam", date(1977, 2, 3)), "lifeevent-sams")
    assert await resident(index, rowan_then, "lifeevent-second") == rowan
    assert await resident(index, rowan_then, "lifeevent-third") == rowan

    assert await stores.directory.life_events_of(rowan) == [
        "lifeevent-third",
        "lifeevent-second",
        "lifeevent-first",
    ]
    assert await stores.directory.life_events_of(sam) == ["lifeevent-sams"]
    assert await stores.directory.life_events_of("res_nobody0000000001") == []


async def test_life_events_include_those_that_wrote_to_the_resident(
    settings: Settings, stores: PortalStores, index: ResidentIndex
) -> None:
    # A parent: the index records the birth about the child; the birth wrote to the parent.
    parent = await resident(index, person("Rowan", date(1975, 6, 1)), "lifeevent-move")
    async with await NotificationStore.open(settings.database_url("notifications")) as store:
        notifications = NotificationActivities(store)
        for workflow_id, step in (
            ("lifeevent-birth", "library-card:asked"),
            ("lifeevent-move", "council-tax"),
            ("lifeevent-birth", "library-card:reminder"),
        ):
            await notifications.send(
                Notification(
                    resident=parent,
                    template="waiting.question",
                    workflow_id=workflow_id,
                    step=step,
                    channels=("portal",),
                )
            )

    assert await stores.directory.life_events_of(parent) == ["lifeevent-move", "lifeevent-birth"]


async def test_the_inbox_is_the_residents_own_newest_first(
    settings: Settings, stores: PortalStores
) -> None:
    rowan, sam = "res_rowan00000000001", "res_sam0000000000001"
    async with await NotificationStore.open(settings.database_url("notifications")) as store:
        notifications = NotificationActivities(store)
        for step, who in (("council-tax", rowan), ("council-tax", sam), ("benefits", rowan)):
            await notifications.send(
                Notification(
                    resident=who,
                    template=f"move.{step}",
                    workflow_id="lifeevent-move",
                    step=step,
                    channels=("portal",),
                )
            )
            await asyncio.sleep(0.01)  # one after another, by the clock too

    inbox = await stores.inbox.messages(rowan)

    assert [(m.template, m.step, m.workflow_id) for m in inbox] == [
        ("move.benefits", "benefits", "lifeevent-move"),
        ("move.council-tax", "council-tax", "lifeevent-move"),
    ]
    assert [m.step for m in await stores.inbox.messages(sam)] == ["council-tax"]
    assert await stores.inbox.messages("res_nobody0000000001") == []


async def test_the_stores_are_where_the_settings_put_them(
    settings: Settings, stores: PortalStores
) -> None:
    assert (settings.var_dir / "residents" / "residents.db").is_file()
    assert (settings.var_dir / "notifications" / "notifications.db").is_file()


async def test_large_print_is_the_notification_services_own_record(
    settings: Settings, stores: PortalStores
) -> None:
    rowan, sam = "res_rowan00000000001", "res_sam0000000000001"
    letters = stores.letter_preferences

    assert await letters.large_print(rowan) is False  # never chosen
    await letters.set_large_print(rowan, True)

    assert await letters.large_print(rowan) is True
    assert await letters.large_print(sam) is False
    # The notification service's own store, as its worker opens it: the same record.
    async with await NotificationStore.open(settings.database_url("notifications")) as store:
        assert await store.large_print(rowan) is True
        assert await store.large_print(sam) is False
        await store.set_large_print(sam, True)
    assert await letters.large_print(sam) is True

    await letters.set_large_print(rowan, False)

    assert await letters.large_print(rowan) is False
    assert await letters.large_print(sam) is True
    async with await NotificationStore.open(settings.database_url("notifications")) as store:
        assert await store.large_print(rowan) is False


BENEFITS = {"claims": "HB-0000000007", "effective_from": "2026-03-02"}
BODY = "We have recorded your change of address"  # the body's first line, however it wraps
SUBJECT = "Your housing benefit"  # the heading's first line, however it wraps


async def printed(service: NotificationActivities, resident: str, print_queue: Path) -> Path:
    """A letter to the resident, through the notification service's `send`: the PDF the
    print queue received."""
    outcome = await service.send(
        Notification(
            resident=resident,
            template="move.benefits",
            references=BENEFITS,
            workflow_id="lifeevent-move",
            step="benefits",
            channels=("letter",),
            address=HOME,
        )
    )
    assert (outcome.code, outcome.references["status"]) == ("notified_by_letter", "sent")
    return print_queue / f"{outcome.references['notification']}.pdf"


async def test_a_choice_on_the_page_prints_the_next_letter_in_large_print(
    tmp_path: Path, settings: Settings, stores: PortalStores
) -> None:
    # The portal's page (sign-in and the rest over fakes) with the real adapter.
    async with serve(tmp_path / "portal", letter_preferences=stores.letter_preferences) as portal:
        await sign_in(portal, portal.client, ALICE_EMAIL)
        token = await csrf_of(portal.client)
        saved = await portal.client.post(
            "/preferences", data={"contact": "email", "large_print": "yes", "csrf_token": token}
        )
        shown = await portal.client.get("/preferences")
    assert saved.status_code == 200
    assert "We will send your letters in large print from now on." in saved.text
    assert 'value="yes" checked' in shown.text
    assert portal.letters.changes == []  # the fake stood aside

    print_queue = tmp_path / "print-queue"
    async with await NotificationStore.open(settings.database_url("notifications")) as store:
        service = NotificationActivities(
            store,
            Channels(letters=PrintQueue(print_queue), letterhead=Letterhead("Exampletown Council")),
        )
        large = await printed(service, ALICE, print_queue)
        usual = await printed(service, BOB, print_queue)  # Bob chose nothing

    assert large.parent == print_queue
    assert "HB-0000000007" in " ".join(text for text, *_ in texts(large))
    assert sizes_of(texts(large), BODY) == {16.0}
    assert sizes_of(texts(large), SUBJECT) == {20.0}
    assert sizes_of(texts(usual), BODY) == {12.0}
    assert sizes_of(texts(usual), SUBJECT) == {14.0}
