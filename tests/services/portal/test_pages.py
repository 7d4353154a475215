"""The resident's pages: inbox, message, life events and their timelines in plain English, the
question and its answer, consents, who used my data, contact preferences and a call."""

from __future__ import annotations

import html
import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.services.portal.portal_fakes import (
    ALICE,
    ALICE_CONSENT,
    ALICE_EMAIL,
    ALICE_MESSAGE,
    ALICE_WORKFLOW,
    STEP,
    Portal,
    csrf_of,
    serve,
    sign_in,
)

QUESTION = f"/events/{ALICE_WORKFLOW}/steps/{STEP}"
REFUSAL = (
    "Thank you. The time to answer has passed, so a caseworker will contact you about this instead."
)


@pytest.fixture
async def portal(tmp_path: Path) -> AsyncIterator[Portal]:
    async with serve(tmp_path) as served:
        await sign_in(served, served.client, ALICE_EMAIL)
        yield served


def text(page_html: str) -> str:
    """The page's words, tags gone and white space folded, for sentences to be found in."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page_html)).split())


def h1(page_html: str) -> str:
    found = re.findall(r"<h1[^>]*>(.*?)</h1>", page_html, re.S)
    assert len(found) == 1, found
    return text(found[0])


async def test_the_inbox_lists_messages_and_what_waits_for_the_resident(portal: Portal) -> None:
    page = await portal.client.get("/")

    assert page.status_code == 200
    assert h1(page.text) == "Your messages"
    assert "<title>Your messages \u2013 Exampleshire Council Life events</title>" in page.text
    words = text(page.text)
    assert "Waiting for you" in words
    assert f'href="{QUESTION}"' in page.text
    assert "Would you like us to apply for a school place for your child?" in words
    assert "Answer by 16 March 2026" in words
    assert f'href="/messages/{ALICE_MESSAGE}"' in page.text
    assert "Your council tax after your move" in words
    assert "Sent 2 March 2026" in words
    assert "Bob" not in words


async def test_a_message_has_its_own_page(portal: Portal) -> None:
    page = await portal.client.get(f"/messages/{ALICE_MESSAGE}")

    assert page.status_code == 200
    assert h1(page.text) == "Your council tax after your move"
    assert "We closed your council tax account.\nYour final bill follows." in page.text
    assert f'href="/events/{ALICE_WORKFLOW}"' in page.text


async def test_the_life_events_list(portal: Portal) -> None:
    page = await portal.client.get("/events")

    assert h1(page.text) == "Your life events"
    assert f'href="/events/{ALICE_WORKFLOW}"' in page.text
    words = text(page.text)
    assert "Your change of address" in words
    assert "Waiting for your answer. Started 1 March 2026" in words


async def test_the_timeline_says_each_step_in_plain_english(portal: Portal) -> None:
    page = await portal.client.get(f"/events/{ALICE_WORKFLOW}")

    assert page.status_code == 200
    assert h1(page.text) == "Your change of address"
    words = text(page.text)
    assert (
        "Council tax We closed the council tax account at your old address. "
        "Final bill date: 28 February 2026. Done"
    ) in words
    assert (
        "Electoral register You objected to your information being used for this. Not done"
    ) in words
    assert (
        "School place for your child We need your answer before we do this. "
        "Due on: 16 March 2026. Waiting for you"
    ) in words
    # A reason nobody has phrased yet: a neutral sentence, the code only as a reference.
    assert (
        "Housing benefit and council tax reduction We cannot show more detail about this "
        "here. If you need to know, contact us and quote this reference: "
        "some_code_nobody_phrased. Not done"
    ) in words
    assert "objection_recorded" not in words
    assert "waiting_for_resident" not in words
    assert f'href="{QUESTION}"' in page.text
    assert "govuk-task-list" in page.text


async def test_a_corrected_runs_id_with_a_slash_reaches_its_timeline(portal: Portal) -> None:
    corrected = f"{ALICE_WORKFLOW}/corrected-1"
    portal.directory.events[ALICE].append(corrected)
    portal.life_events.about[corrected] = ALICE

    escaped = await portal.client.get(f"/events/{ALICE_WORKFLOW}%2Fcorrected-1")
    plain = await portal.client.get(f"/events/{corrected}")
    question = await portal.client.get(f"/events/{ALICE_WORKFLOW}%2Fcorrected-1/steps/{STEP}")

    assert escaped.status_code == 200
    assert plain.status_code == 200
    assert question.status_code == 200
    assert f'href="/events/{ALICE_WORKFLOW}%2Fcorrected-1/steps/{STEP}"' in escaped.text


async def test_the_question_page_asks_with_radios(portal: Portal) -> None:
    page = await portal.client.get(QUESTION)

    assert page.status_code == 200
    assert h1(page.text) == "Would you like us to apply for a school place for your child?"
    assert 'class="govuk-fieldset__legend govuk-fieldset__legend--l"' in page.text
    assert re.search(r'<input class="govuk-radios__input" id="answer" name="answer"', page.text)
    assert '<label class="govuk-label govuk-radios__label" for="answer">' in page.text
    assert 'value="yes"' in page.text
    assert 'value="no"' in page.text
    assert "Send answer" in page.text


async def test_yes_sends_exactly_one_answer_and_shows_the_receipt(portal: Portal) -> None:
    token = await csrf_of(portal.client, QUESTION)

    page = await portal.client.post(QUESTION, data={"answer": "yes", "csrf_token": token})

    assert page.status_code == 200
    assert portal.life_events.answers == [(ALICE, ALICE_WORKFLOW, STEP, True)]
    assert h1(page.text) == "Thank you"
    words = text(page.text)
    assert "Thank you, we have your answer." in words
    # The updated timeline: the step is no longer waiting.
    # The updated timeline: the step is done (its tag, nothing more to say), not waiting.
    assert "School place for your child Done Housing benefit and council tax reduction" in words
    assert "Waiting for you" not in words


async def test_no_is_sent_as_not_accepted(portal: Portal) -> None:
    token = await csrf_of(portal.client, QUESTION)

    await portal.client.post(QUESTION, data={"answer": "no", "csrf_token": token})

    assert portal.life_events.answers == [(ALICE, ALICE_WORKFLOW, STEP, False)]


async def test_no_choice_is_an_error_and_nothing_is_sent(portal: Portal) -> None:
    token = await csrf_of(portal.client, QUESTION)

    for data in ({}, {"answer": "maybe"}):
        page = await portal.client.post(QUESTION, data={**data, "csrf_token": token})
        assert page.status_code == 400
        assert "There is a problem" in page.text
        assert '<a href="#answer">Select yes or no</a>' in page.text
        assert "<title>Error: " in page.text
    assert portal.life_events.answers == []


async def test_a_refused_answer_says_why(portal: Portal) -> None:
    portal.life_events.refuse_with = REFUSAL
    token = await csrf_of(portal.client, QUESTION)

    page = await portal.client.post(QUESTION, data={"answer": "yes", "csrf_token": token})

    assert page.status_code == 200
    assert h1(page.text) == "We could not take your answer"
    assert REFUSAL in text(page.text)
    assert len(portal.life_events.answers) == 1


async def test_a_step_that_does_not_wait_says_so(portal: Portal) -> None:
    page = await portal.client.get(f"/events/{ALICE_WORKFLOW}/steps/council-tax")

    assert page.status_code == 200
    assert h1(page.text) == "Nothing to answer"
    assert 'name="answer"' not in page.text


async def test_a_step_the_timeline_does_not_have_is_not_found(portal: Portal) -> None:
    page = await portal.client.get(f"/events/{ALICE_WORKFLOW}/steps/no-such-step")

    assert page.status_code == 404


async def test_consents_withdraw_and_give_in_one_click(portal: Portal) -> None:
    page = await portal.client.get("/consents")

    assert h1(page.text) == "Your consents"
    words = text(page.text)
    assert "Libraries: offering you library membership" in words
    assert "Given" in words
    assert f'action="/consents/{ALICE_CONSENT}/withdraw"' in page.text
    # Offered: the policy's consent-based purposes not given yet (library is given).
    assert "Blue badge renewal reminders" in words
    assert "Bereavement support" in words
    assert "Library membership offers" not in words

    token = await csrf_of(portal.client, "/consents")
    withdrawn = await portal.client.post(
        f"/consents/{ALICE_CONSENT}/withdraw", data={"csrf_token": token}
    )
    given = await portal.client.post(
        "/consents/give", data={"purpose": "blue-badge-renewal", "csrf_token": token}
    )

    assert withdrawn.status_code == 303
    assert withdrawn.headers["location"] == "/consents?done=withdrawn"
    assert portal.consents.withdrawn == [(ALICE, ALICE_CONSENT)]
    assert given.status_code == 303
    assert portal.consents.given == [(ALICE, "blue-badge-renewal", "blue-badge")]
    after = await portal.client.get("/consents?done=withdrawn")
    assert "You have withdrawn your consent" in text(after.text)
    assert "Withdrawn" in text(after.text)
    assert f'action="/consents/{ALICE_CONSENT}/withdraw"' not in after.text


async def test_who_used_my_data_in_plain_english(portal: Portal) -> None:
    page = await portal.client.get("/data-use")

    assert page.status_code == 200
    assert h1(page.text) == "Who used my data"
    words = text(page.text)
    assert "Information shared: Council tax" in words
    assert "When 28 February 2026 at 9:00am" in words
    assert "Information Your name and date of birth and your address" in words
    assert "Why Working out who pays council tax" in words
    assert "Legal basis The law requires it" in words
    assert "Outcome Shared. The service received it." in words
    assert "nothing in it has been changed or removed" in words


async def test_a_ledger_that_does_not_verify_is_said_so(portal: Portal) -> None:
    portal.consents.verifies = False

    page = await portal.client.get("/data-use")

    assert "We could not confirm that this record is complete and unchanged" in text(page.text)


async def test_contact_preferences_and_a_call(portal: Portal) -> None:
    page = await portal.client.get("/preferences")

    assert h1(page.text) == "Contact preferences"
    words = text(page.text)
    for choice in ("Portal only", "Email", "Text message"):
        assert choice in words
    # No postal address in this plan: no letters to choose (large print is another field).
    assert re.findall(r'name="contact" type="radio" value="(\w+)"', page.text) == [
        "portal",
        "email",
        "sms",
    ]
    assert "How would you like us to contact you?" in words

    token = await csrf_of(portal.client)
    saved = await portal.client.post("/preferences", data={"contact": "sms", "csrf_token": token})
    call = await portal.client.post("/preferences/call", data={"csrf_token": token})

    assert saved.status_code == 200
    assert "We have saved how you would like us to contact you." in text(saved.text)
    assert [(u.resident, u.channels) for u in portal.directory.preferences] == [
        (ALICE, ("sms", "portal"))
    ]
    assert call.status_code == 200
    assert portal.calls.calls == [ALICE]
    assert "govuk-panel" in call.text
    assert "We will call you" in text(call.text)


async def test_a_choice_not_offered_is_an_error(portal: Portal) -> None:
    token = await csrf_of(portal.client)

    page = await portal.client.post("/preferences", data={"contact": "letter", "csrf_token": token})

    assert page.status_code == 400
    assert '<a href="#contact">Select how you would like us to contact you</a>' in page.text
    assert portal.directory.preferences == []


async def test_every_resident_page_has_one_h1_and_a_titled_layout(portal: Portal) -> None:
    for path in (
        "/",
        "/events",
        f"/events/{ALICE_WORKFLOW}",
        QUESTION,
        f"/messages/{ALICE_MESSAGE}",
        "/consents",
        "/data-use",
        "/preferences",
        "/sign-out",
    ):
        page = await portal.client.get(path)
        assert page.status_code == 200, path
        title = re.search(r"<title>(.*?)</title>", page.text, re.S)
        assert title is not None
        assert title.group(1).endswith("\u2013 Exampleshire Council Life events"), path
        assert h1(page.text), path
        assert 'aria-label="Menu"' in page.text, path
