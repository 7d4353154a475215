"""The apology a withdrawal sends: plain English, why, and what the resident need not do."""

from __future__ import annotations

import pytest

from services.notifications.templates import TEMPLATES, render
from workflows.amendment import APOLOGY_TEMPLATE


def test_the_withdrawal_workflow_sends_a_template_that_exists() -> None:
    assert APOLOGY_TEMPLATE in TEMPLATES


@pytest.mark.parametrize(
    ("reason", "words"),
    [
        ("entered_in_error", "entered in error"),
        ("wrong_person", "about someone else"),
        ("sent_twice", "sent to us twice"),
    ],
)
def test_the_apology_says_why_in_words(reason: str, words: str) -> None:
    message = render(APOLOGY_TEMPLATE, {"reason": reason, "undone": "3"})
    assert message.subject == "We are sorry: we acted on information that was wrong"
    assert f"the information was {words}, so we have undone" in message.body
    assert "You do not need to do anything." in message.body
    assert "We apologise" in message.body
    assert reason not in message.body
