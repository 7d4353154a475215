"""Undoing a partners step (a life event withdrawn as entered in error): after an
organisation was told of a death, the store of notices is exactly as it was before the step;
a retry of the step does not do it again. What was published stays published: undo restores
the store, it cannot recall a notice from an organisation's topic, and the compensation a
withdrawal asks for (`partners.undo`) says so and changes nothing. Against the real Kafka."""

from __future__ import annotations

import pytest

from contracts.actions import ActionOutcome
from services.common.council import ActionKey
from services.partners.activities import PartnerActivities
from services.partners.config import PartnersConfig
from services.partners.store import PartnerStore
from tests.services.partners.support import deceased_action, read_topic
from tests.services.partners.test_compensation import compensation
from tests.support.undo import assert_undone_exactly, dump

pytestmark = pytest.mark.stack


async def test_undoing_a_notice_takes_its_record_back(
    service: PartnerActivities, store: PartnerStore
) -> None:
    await service.tell_organisation(deceased_action("hmrc", step="tell-hmrc"))
    before = await dump(store)
    told = deceased_action("dwp", step="tell-dwp")
    outcome = await service.tell_organisation(told)
    assert outcome.code == "told"

    await assert_undone_exactly(store, ActionKey(told.workflow_id, told.step), before)

    assert await service.tell_organisation(told) == outcome
    assert await dump(store) == before


async def test_the_compensation_of_a_notice_tells_nothing_and_leaves_it_told(
    service: PartnerActivities,
    store: PartnerStore,
    config: PartnersConfig,
    kafka_bootstrap: str,
) -> None:
    told = deceased_action("dwp", step="tell-dwp")
    first = await service.tell_organisation(told)
    before = await dump(store)

    outcome = await service.undo(compensation(told, "dwp"))

    assert outcome == ActionOutcome(
        outcome="no_action",
        code="cannot_undo_told_outside_council",
        references={"organisation": "dwp", "reference": first.references["reference"]},
    )
    assert await dump(store) == before
    assert len(await read_topic(kafka_bootstrap, config.organisations["dwp"].topic)) == 1
