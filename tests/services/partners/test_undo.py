"""Undoing a partners step (a life event withdrawn as entered in error): after an
organisation was told of a death, the store of notices is exactly as it was before the step;
a retry of the step does not do it again. What was published stays published: undo restores
the store, it cannot recall a notice from an organisation's topic. Against the real Kafka."""

from __future__ import annotations

import pytest

from services.common.council import ActionKey
from services.partners.activities import PartnerActivities
from services.partners.store import PartnerStore
from tests.services.partners.support import deceased_action
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
