"""Large-print letters on the contact preferences page: a GOV.UK checkbox in the same form as
the channel, its saved state shown when the page opens, saved with the rest of the form
(written through `ports.LetterPreferences` only when it changes, and then said so), nothing
saved from a form with errors."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.services.portal.portal_fakes import (
    ALICE,
    ALICE_EMAIL,
    Portal,
    csrf_of,
    serve,
    sign_in,
)
from tests.services.portal.test_pages import text

SAVED = "We have saved how you would like us to contact you."
NOW_LARGE = "We will send your letters in large print from now on."
NO_LONGER = "We will no longer send your letters in large print."


@pytest.fixture
async def portal(tmp_path: Path) -> AsyncIterator[Portal]:
    async with serve(tmp_path) as served:
        await sign_in(served, served.client, ALICE_EMAIL)
        yield served


def checkbox(page_html: str) -> str:
    """The large-print checkbox's <input> tag; the page has exactly one."""
    found: list[str] = re.findall(r'<input[^>]*name="large_print"[^>]*>', page_html)
    assert len(found) == 1, found
    return found[0]


def ticked(page_html: str) -> bool:
    return re.search(r"\schecked(\s|>|=)", checkbox(page_html)) is not None


async def save(portal: Portal, **fields: str) -> tuple[int, str]:
    token = await csrf_of(portal.client)
    saved = await portal.client.post("/preferences", data={**fields, "csrf_token": token})
    return saved.status_code, saved.text


async def test_the_page_offers_large_print_unticked_until_chosen(portal: Portal) -> None:
    page = await portal.client.get("/preferences")

    assert page.status_code == 200
    assert checkbox(page.text).startswith(
        '<input class="govuk-checkboxes__input" id="large_print" name="large_print" '
        'type="checkbox" value="yes"'
    )
    assert not ticked(page.text)
    assert '<label class="govuk-label govuk-checkboxes__label" for="large_print">' in page.text
    words = text(page.text)
    assert "Large print Send me letters in large print" in words
    assert "Any letter we post to you will have bigger text, at least 16 point." in words
    # In the one form with the channel and its CSRF token, before its button.
    form = re.search(r'<form method="post" action="/preferences".*?</form>', page.text, re.S)
    assert form is not None
    assert 'name="csrf_token"' in form.group(0)
    assert 'name="contact"' in form.group(0)
    assert checkbox(page.text) in form.group(0)
    assert portal.letters.changes == []


async def test_the_saved_choice_is_shown_when_the_page_opens(portal: Portal) -> None:
    portal.letters.large[ALICE] = True

    page = await portal.client.get("/preferences")

    assert ticked(page.text)


async def test_ticked_and_saved_with_the_channel_and_said_so(portal: Portal) -> None:
    status, page = await save(portal, contact="sms", large_print="yes")

    assert status == 200
    assert portal.letters.changes == [(ALICE, True)]
    assert [(u.resident, u.channels) for u in portal.directory.preferences] == [
        (ALICE, ("sms", "portal"))
    ]
    assert f"{SAVED} {NOW_LARGE}" in text(page)
    assert ticked(page)
    assert ticked((await portal.client.get("/preferences")).text)


async def test_saved_again_unchanged_writes_nothing_and_says_nothing_of_it(
    portal: Portal,
) -> None:
    portal.letters.large[ALICE] = True

    status, page = await save(portal, contact="email", large_print="yes")

    assert status == 200
    assert portal.letters.changes == []
    words = text(page)
    assert SAVED in words
    assert "large print from now on" not in words
    assert "no longer" not in words
    assert ticked(page)


async def test_unticked_is_saved_as_standard_print_and_said_so(portal: Portal) -> None:
    portal.letters.large[ALICE] = True

    # An unticked box sends nothing at all.
    status, page = await save(portal, contact="email")

    assert status == 200
    assert portal.letters.changes == [(ALICE, False)]
    assert f"{SAVED} {NO_LONGER}" in text(page)
    assert not ticked(page)


async def test_a_form_with_errors_saves_nothing_and_keeps_the_box_as_sent(
    portal: Portal,
) -> None:
    status, page = await save(portal, large_print="yes")  # no channel chosen

    assert status == 400
    assert '<a href="#contact">Select how you would like us to contact you</a>' in page
    assert portal.letters.changes == []
    assert portal.directory.preferences == []
    assert ticked(page)  # what the resident sent, not yet saved
    assert not ticked((await portal.client.get("/preferences")).text)


@pytest.mark.parametrize("value", ["on", "no", "YES", "true"])
async def test_a_value_the_page_never_sends_is_a_bad_request(portal: Portal, value: str) -> None:
    status, page = await save(portal, contact="email", large_print=value)

    assert status == 400
    assert portal.letters.changes == []
    assert portal.directory.preferences == []
    assert "large_print" not in page  # the error page, not the form
