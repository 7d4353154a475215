"""notifications.send: the portal inbox always, then the first deliverable channel of the
resident's preference (e-mail, SMS, letter), delivered through the real local catcher and
print queue; nothing for a deceased resident; once per workflow step and resident."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from temporalio.exceptions import ApplicationError

from contracts.addresses import UkAddress
from contracts.notifications import Notification
from services.notifications.activities import NotificationActivities
from services.notifications.catcher import Catcher
from services.notifications.store import NotificationStore
from services.notifications.templates import TEMPLATES, render
from tests.support.council import address, new_resident, snapshot
from workflows.catalogue import load_catalogue

EMAIL = "sam.sample@example.org"
PHONE = "+447700900123"
HOME = UkAddress.model_validate(address("44 Fictitious Avenue", "AB2 4FG"))
CT_REFS = {
    "closed_account": "CT-0000000001",
    "final_bill_date": "2025-10-18",
    "account": "CT-0000000002",
    "liability_start": "2025-10-18",
    "adults": "1",
    "single_person_discount": "25%",
}


def notification(**overrides: Any) -> Notification:
    fields: dict[str, Any] = {
        "resident": new_resident(),
        "template": "move.council-tax",
        "references": CT_REFS,
        "workflow_id": f"move-{uuid.uuid4().hex}",
        "step": "council-tax",
        "channels": ("email", "sms", "letter"),
        "email": EMAIL,
        "phone": PHONE,
        "address": HOME,
    }
    fields.update(overrides)
    return Notification.model_validate(fields)


@pytest.mark.parametrize(
    ("overrides", "channel", "status"),
    [
        ({"channels": ("portal", "email", "letter")}, "portal", "delivered"),
        ({}, "email", "sent"),
        ({"channels": ("sms", "email", "letter")}, "sms", "delivered"),
        ({"email": None}, "sms", "delivered"),  # e-mail preferred but not known: the next one
        ({"email": None, "phone": None}, "letter", "sent"),
        ({"channels": ("letter",)}, "letter", "sent"),  # not online
        ({"channels": ("email", "sms"), "email": None, "phone": None}, "portal", "delivered"),
        ({"channels": ()}, "portal", "delivered"),
    ],
)
async def test_inbox_always_then_the_first_deliverable_preferred_channel(
    service: NotificationActivities,
    store: NotificationStore,
    catcher: Catcher,
    overrides: dict[str, Any],
    channel: str,
    status: str,
) -> None:
    sent = notification(**overrides)
    outcome = await service.send(sent)

    assert outcome.outcome == "done"
    assert outcome.code == f"notified_by_{channel}"
    reference = outcome.references["notification"]
    assert outcome.references == {"notification": reference, "channel": channel, "status": status}
    [message] = await store.inbox(sent.resident)
    assert message.reference == reference
    assert message.subject == "Your council tax after your move"
    outbox = await store.outbox()
    letters = await store.letters()
    if channel in {"email", "sms"}:
        assert outbox == [(channel, EMAIL if channel == "email" else PHONE, reference)]
    else:
        assert outbox == []
    assert letters == ([(reference, HOME)] if channel == "letter" else [])
    caught = await catcher.store.everything()
    assert [(c.kind, c.to) for c in caught] == (
        [(channel, EMAIL if channel == "email" else PHONE)] if channel in {"email", "sms"} else []
    )


async def test_a_deceased_resident_is_never_addressed(
    service: NotificationActivities, store: NotificationStore, catcher: Catcher
) -> None:
    before = await snapshot(store)
    sent = notification(deceased=True)
    outcome = await service.send(sent)
    assert outcome.outcome == "no_action"
    assert outcome.code == "deceased"
    assert await store.inbox(sent.resident) == []
    after = await snapshot(store)
    assert after["notification_messages"] == before["notification_messages"] == []
    assert after["notification_inbox"] == []
    assert await service.send(sent) == outcome  # and not on a retry either
    assert await catcher.store.everything() == []


async def test_once_per_step_and_resident(
    service: NotificationActivities, store: NotificationStore, catcher: Catcher
) -> None:
    sent = notification()
    first = await service.send(sent)
    after = await snapshot(store)
    assert await service.send(sent) == first
    assert await snapshot(store) == after
    # The household's other member gets their own, and so does the next step.
    other = await service.send(notification(workflow_id=sent.workflow_id))
    later = await service.send(
        notification(resident=sent.resident, workflow_id=sent.workflow_id, step="benefits")
    )
    assert other.references["notification"] != first.references["notification"]
    assert later.references["notification"] != first.references["notification"]
    assert len(await store.inbox(sent.resident)) == 2
    assert len(await store.outbox()) == 3
    assert len(await catcher.store.everything()) == 3


async def test_an_unknown_template_is_refused(service: NotificationActivities) -> None:
    with pytest.raises(ApplicationError) as refused:
        await service.send(notification(template="move.unheard-of"))
    assert refused.value.type == "NotificationRefused"
    assert refused.value.non_retryable


def test_every_notification_the_catalogue_names_has_a_template() -> None:
    named = {step.notification for step in load_catalogue().steps}
    assert named <= set(TEMPLATES)


@pytest.mark.parametrize(
    ("code", "references", "expected", "absent"),
    [
        (
            "move.council-tax",
            CT_REFS,
            ["CT-0000000001", "final bill runs to 18 October 2025", "CT-0000000002", "25%"],
            ["{", "contact"],
        ),
        (
            "move.council-tax",
            {
                "closed_account": "CT-1",
                "final_bill_date": "2025-10-18",
                "contact_council": "unknown",
            },
            ["the council for your new address: please contact them"],
            ["new account", "{"],
        ),
        (
            "move.school-admissions",
            {
                "applications": "2",
                "application_1": "IYA-1",
                "school_1": "Fictitious Avenue Primary School",
                "year_group_1": "Year 6",
                "application_2": "IYA-2",
                "school_2": "Exampletown Academy",
                "year_group_2": "Year 8",
            },
            ["- Year 6 at Fictitious Avenue Primary School, application IYA-1", "- Year 8 at"],
            ["{", "_3"],
        ),
        (
            "move.benefits",
            {"claims": "HB-1", "effective_from": "2025-10-18", "reassessment": "award_ends"},
            ["claim HB-1 from 18 October 2025", "Your award ends on that date"],
            ["{", "award_ends"],
        ),
        (
            "move.electoral-register",
            {"effective_date": "2025-10-18", "invitations": "2", "invitation_references": "ITR-1"},
            ["Invitations to register at your new address: 2"],
            ["removed", "{"],
        ),
    ],
)
def test_templates_keep_the_lines_their_references_fill(
    code: str, references: dict[str, str], expected: list[str], absent: list[str]
) -> None:
    body = render(code, references).body
    for text in expected:
        assert text in body
    for text in absent:
        assert text not in body
