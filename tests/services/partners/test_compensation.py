"""The partners service's compensation (`partners.undo`): an organisation outside the council
was told, and what it was told cannot be taken back from here. After verifying the tokens as
every compensation's are, the undo answers so (`cannot_undo_told_outside_council`, with the
organisation and the notice's reference) and changes nothing; a step never recorded told no
one (`nothing_to_undo`). The publisher here only records what it is asked to publish: the
undo publishes nothing (the real Kafka is in test_undo.py)."""

from __future__ import annotations

from typing import Any

import pytest
import structlog
from temporalio.exceptions import ApplicationError

from contracts.actions import ActionOutcome, ResidentShare, ServiceAction
from contracts.cloudevents import KafkaRecord
from services.partners.activities import PURPOSE, PartnerActivities
from services.partners.config import PartnersConfig
from services.partners.store import PartnerStore
from tests.services.partners.support import PERSONAL, deceased_action
from tests.support.council import OTHER_KEY, keys, snapshot, token


class Recorded:
    """A publisher that keeps what it is given."""

    def __init__(self) -> None:
        self.published: list[tuple[str, KafkaRecord]] = []

    async def publish(self, topic: str, record: KafkaRecord) -> None:
        self.published.append((topic, record))


@pytest.fixture
def publisher() -> Recorded:
    return Recorded()


@pytest.fixture
def service(store: PartnerStore, config: PartnersConfig, publisher: Recorded) -> PartnerActivities:
    return PartnerActivities(store, keys(), config, publisher)


def compensation(
    told: ServiceAction, organisation: str, *, purpose: str = PURPOSE, **overrides: Any
) -> ServiceAction:
    """What a withdrawal sends for `told`'s step: the deceased's share with no data, its
    token for the organisation (as the step's was), stamped `deceased`."""
    arguments: dict[str, Any] = {
        "recipient": organisation,
        "purpose": purpose,
        "resident": told.shares[0].resident,
        "categories": ["death", "identity"],
        "deceased": True,
    }
    arguments.update(overrides)
    issued = token({}, **arguments)
    return told.model_copy(
        update={
            "event_type": "lifeevents.event.withdrawn.v1",
            "shares": (
                ResidentShare(resident=told.shares[0].resident, share_token=issued, data={}),
            ),
        }
    )


async def test_a_notice_told_outside_the_council_cannot_be_undone_and_nothing_changes(
    service: PartnerActivities, store: PartnerStore, publisher: Recorded
) -> None:
    told = deceased_action("dwp", step="tell-dwp")
    first = await service.tell_organisation(told)
    assert first.code == "told"
    before = await snapshot(store)

    with structlog.testing.capture_logs() as logs:
        outcome = await service.undo(compensation(told, "dwp"))
        again = await service.undo(compensation(told, "dwp"))

    assert outcome == ActionOutcome(
        outcome="no_action",
        code="cannot_undo_told_outside_council",
        references={"organisation": "dwp", "reference": first.references["reference"]},
    )
    assert again == outcome
    assert await snapshot(store) == before
    assert len(publisher.published) == 1  # the notice; the undo sent nothing
    assert [line["code"] for line in logs] == ["cannot_undo_told_outside_council"] * 2
    assert not any(value in str(logs) for value in PERSONAL)


async def test_a_step_never_recorded_told_no_one_so_has_nothing_to_undo(
    service: PartnerActivities, store: PartnerStore
) -> None:
    never = deceased_action("hmrc", step="tell-hmrc")
    before = await snapshot(store)

    outcome = await service.undo(compensation(never, "hmrc"))

    assert outcome == ActionOutcome(outcome="no_action", code="nothing_to_undo")
    assert await snapshot(store) == before


@pytest.mark.parametrize(
    ("organisation", "overrides", "problem"),
    [
        ("dwp", {"key": OTHER_KEY}, "bad_signature"),
        ("dwp", {"purpose": "council-tax-liability"}, "wrong_purpose"),
        ("dwp", {"resident": "res_someoneelse00000000"}, "wrong_resident"),
        ("libraries", {}, "unknown_organisation"),
    ],
)
async def test_a_compensation_with_a_bad_token_is_refused(
    service: PartnerActivities,
    store: PartnerStore,
    organisation: str,
    overrides: dict[str, Any],
    problem: str,
) -> None:
    told = deceased_action("dwp", step="tell-dwp")
    await service.tell_organisation(told)
    before = await snapshot(store)

    with pytest.raises(ApplicationError) as refused:
        await service.undo(compensation(told, organisation, **overrides))

    assert refused.value.type == "ShareRefused"
    assert refused.value.message == problem
    assert await snapshot(store) == before


async def test_a_compensation_with_data_is_refused(
    service: PartnerActivities, store: PartnerStore
) -> None:
    told = deceased_action("dwp", step="tell-dwp")
    await service.tell_organisation(told)
    with_data = told.model_copy(update={"event_type": "lifeevents.event.withdrawn.v1"})

    with pytest.raises(ApplicationError) as refused:
        await service.undo(with_data)

    assert refused.value.type == "ShareDataInvalid"
    assert refused.value.message == "invalid_data:reversal_with_data"
