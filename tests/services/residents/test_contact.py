"""Channel preferences, contact plans, and flags: nobody who has died is ever addressed."""

from __future__ import annotations

from datetime import date

import pytest

from contracts.people import ContactDetails
from contracts.residents import (
    Channel,
    DeathRecord,
    PersonDetails,
    PreferenceUpdate,
    SupportFlag,
    default_channels,
)
from services.residents.index import ResidentIndex, ResidentIndexError
from tests.services.residents.support import address, person

EMAIL = "rowan.testbury@example.org"
PHONE = "+442079460123"


@pytest.mark.parametrize(
    ("email", "phone", "portal", "expected"),
    [
        (EMAIL, None, False, ("email", "letter")),
        (None, PHONE, False, ("sms", "letter")),
        (EMAIL, PHONE, False, ("email", "sms", "letter")),
        (None, None, False, ("letter",)),
        (EMAIL, None, True, ("portal", "email", "letter")),
        (None, None, True, ("portal", "letter")),
    ],
)
def test_default_preferences_follow_the_contact_given(
    email: str | None, phone: str | None, portal: bool, expected: tuple[Channel, ...]
) -> None:
    contact = ContactDetails(email=email, phone=phone) if email or phone else None
    assert default_channels(contact, portal) == expected


async def one(index: ResidentIndex, who: PersonDetails) -> str:
    [result] = await index.match_people([who])
    assert result.resident is not None
    return result.resident


async def test_a_contact_plan_lists_deliverable_channels_in_order(index: ResidentIndex) -> None:
    key = await one(
        index, person("Rowan", "Testbury", date(1975, 6, 1), email=EMAIL, address=address(1))
    )
    plan = await index.contact_for(key)
    assert (plan.deceased, plan.channels) == (False, ("email", "letter"))
    assert (plan.email, plan.phone, plan.address) == (EMAIL, None, address(1))
    # A phone learnt later joins the default order; the e-mail known stays first.
    await index.match_people([person("Rowan", "Testbury", date(1975, 6, 1), phone=PHONE)])
    assert (await index.contact_for(key)).channels == ("email", "sms", "letter")


async def test_no_address_means_no_letter(index: ResidentIndex) -> None:
    key = await one(index, person("Rowan", "Testbury", date(1975, 6, 1), phone=PHONE))
    plan = await index.contact_for(key)
    assert (plan.channels, plan.phone) == (("sms",), PHONE)


async def test_the_residents_own_choice_comes_first(index: ResidentIndex) -> None:
    key = await one(
        index,
        person("Rowan", "Testbury", date(1975, 6, 1), email=EMAIL, phone=PHONE, address=address(1)),
    )
    chosen = await index.set_preferences(
        PreferenceUpdate(resident=key, channels=("letter", "sms"), portal_account=True)
    )
    assert (chosen.channels, chosen.channels_chosen, chosen.portal_account) == (
        ("letter", "sms"),
        True,
        True,
    )
    plan = await index.contact_for(key)
    assert (plan.channels, plan.email) == (("letter", "sms"), None)
    back = await index.set_preferences(PreferenceUpdate(resident=key))
    assert back.channels == ("portal", "email", "sms", "letter")
    assert not back.channels_chosen


async def test_a_deceased_resident_is_never_addressed(index: ResidentIndex) -> None:
    key = await one(
        index,
        person("Rowan", "Testbury", date(1940, 2, 3), email=EMAIL, phone=PHONE, address=address(1)),
    )
    await index.set_preferences(PreferenceUpdate(resident=key, portal_account=True))
    death = DeathRecord(
        resident=key, date_of_death=date(2026, 8, 7), workflow_id="wf-death", step="deceased"
    )
    flagged = await index.mark_deceased(death)
    assert flagged.deceased
    assert await index.mark_deceased(death) == flagged  # a repeat changes nothing
    plan = await index.contact_for(key)
    assert (plan.deceased, plan.channels) == (True, ())
    assert (plan.email, plan.phone, plan.address) == (None, None, None)


async def test_may_need_support_is_a_flag_with_a_reason_code(index: ResidentIndex) -> None:
    key = await one(index, person("Rowan", "Testbury", date(1940, 2, 3), address=address(1)))
    flagged = await index.flag_support(
        SupportFlag(resident=key, reason="bereaved", workflow_id="wf-s", step="support")
    )
    assert flagged.flags == ("may_need_support",)
    plan = await index.contact_for(key)  # still addressed, of course
    assert (plan.deceased, plan.channels) == (False, ("letter",))


async def test_an_unknown_resident_has_no_plan(index: ResidentIndex) -> None:
    with pytest.raises(ResidentIndexError) as refused:
        await index.contact_for("res_" + "y" * 22)
    assert refused.value.code == "unknown_resident"
