"""What `partners.tell_organisation` refuses, touching nothing and sending nothing: a token
for an organisation the service is not configured to tell, every token the council check
refuses, data that is not one deceased's; and what it does when Kafka does not acknowledge.
Nothing here needs Kafka: the publisher only records."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from temporalio.exceptions import ApplicationError

from contracts.actions import ResidentShare, ServiceAction
from contracts.cloudevents import KafkaRecord
from services.partners.activities import PURPOSE, PartnerActivities
from services.partners.config import PartnersConfig, load_partners
from services.partners.publisher import NoticePublisher
from services.partners.store import PartnerStore
from tests.services.partners.support import DECEASED, deceased_action
from tests.support.council import (
    OTHER_KEY,
    assert_refused_untouched,
    keys,
    new_resident,
    snapshot,
    sqlite_store,
    token,
)


class Recording:
    def __init__(self) -> None:
        self.sent: list[tuple[str, KafkaRecord]] = []

    async def publish(self, topic: str, record: KafkaRecord) -> None:
        self.sent.append((topic, record))


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[PartnerStore]:
    async with sqlite_store(PartnerStore, tmp_path) as opened:
        yield opened


@pytest.fixture
def config() -> PartnersConfig:
    return load_partners()


@pytest.fixture
def recording() -> Recording:
    return Recording()


@pytest.fixture
def service(store: PartnerStore, config: PartnersConfig, recording: Recording) -> PartnerActivities:
    return PartnerActivities(store, keys(), config, recording)


# Not configured: an organisation an informant may choose but this council does not tell
# through this service, a council service, this service itself.
@pytest.mark.parametrize("audience", ["veterans_uk", "libraries", "partners"])
async def test_a_token_for_an_organisation_not_configured_is_refused(
    service: PartnerActivities, store: PartnerStore, recording: Recording, audience: str
) -> None:
    await assert_refused_untouched(
        service.tell_organisation, deceased_action(audience), "unknown_organisation", store
    )
    assert recording.sent == []


def _with_token(action: ServiceAction, issued: str) -> ServiceAction:
    share = action.shares[0].model_copy(update={"share_token": issued})
    return action.model_copy(update={"shares": (share,)})


def _expired() -> ServiceAction:
    good = deceased_action("dwp")
    share = good.shares[0]
    issued = token(
        share.data,
        recipient="dwp",
        purpose=PURPOSE,
        resident=share.resident,
        deceased=True,
        now=datetime.now(UTC) - timedelta(minutes=6),
    )
    return _with_token(good, issued)


def _altered() -> ServiceAction:
    good = deceased_action("dwp")
    data = {**DECEASED, "death": {**DECEASED["death"], "date_of_death": "2025-08-08"}}
    share = good.shares[0].model_copy(update={"data": data})
    return good.model_copy(update={"shares": (share,)})


def _categories() -> ServiceAction:
    good = deceased_action("dwp")
    share = good.shares[0]
    issued = token(
        share.data,
        recipient="dwp",
        purpose=PURPOSE,
        resident=share.resident,
        deceased=True,
        categories=["identity"],
    )
    return _with_token(good, issued)


def _another_resident() -> ServiceAction:
    good = deceased_action("dwp")
    share = good.shares[0]
    issued = token(
        share.data, recipient="dwp", purpose=PURPOSE, resident=new_resident(), deceased=True
    )
    return _with_token(good, issued)


REFUSED = [
    ("missing", lambda: _with_token(deceased_action("dwp"), "")),
    ("malformed", lambda: _with_token(deceased_action("dwp"), "not-a-token")),
    ("bad_signature", lambda: deceased_action("dwp", key=OTHER_KEY)),
    ("wrong_purpose", lambda: deceased_action("dwp", purpose="library-membership-offer")),
    ("expired", _expired),
    ("data_altered", _altered),
    ("category_not_shared", _categories),
    ("wrong_resident", _another_resident),
]


@pytest.mark.parametrize(("problem", "spoilt"), REFUSED, ids=[r[0] for r in REFUSED])
async def test_every_token_the_council_check_refuses_is_refused(
    service: PartnerActivities,
    store: PartnerStore,
    recording: Recording,
    problem: str,
    spoilt: Callable[[], ServiceAction],
) -> None:
    await assert_refused_untouched(service.tell_organisation, spoilt(), problem, store)
    assert recording.sent == []


async def test_tokens_for_two_organisations_in_one_action_are_refused(
    service: PartnerActivities, store: PartnerStore, recording: Recording
) -> None:
    dwp = deceased_action("dwp")
    hmrc = deceased_action("hmrc")
    both = dwp.model_copy(update={"shares": (*dwp.shares, *hmrc.shares)})
    await assert_refused_untouched(service.tell_organisation, both, "wrong_recipient", store)
    assert recording.sent == []


async def _refused_as_invalid(
    service: PartnerActivities, store: PartnerStore, action: ServiceAction, code: str
) -> None:
    before = await snapshot(store)
    with pytest.raises(ApplicationError) as refused:
        await service.tell_organisation(action)
    assert (refused.value.type, refused.value.message) == ("ShareDataInvalid", code)
    assert refused.value.non_retryable
    assert await snapshot(store) == before


async def test_a_notice_is_about_one_person(
    service: PartnerActivities, store: PartnerStore, recording: Recording
) -> None:
    first = deceased_action("dwp")
    second = deceased_action("dwp")
    two = first.model_copy(update={"shares": (*first.shares, *second.shares)})
    await _refused_as_invalid(service, store, two, "invalid_data:deceased_repeated")
    assert recording.sent == []


async def test_no_organisation_is_told_of_a_death_the_gate_does_not_know(
    service: PartnerActivities, store: PartnerStore, recording: Recording
) -> None:
    """A token without the gate's `deceased` claim: nobody is told a living person died."""
    good = deceased_action("dwp")
    [share] = good.shares
    unstamped = token(share.data, recipient="dwp", purpose=PURPOSE, resident=share.resident)
    action = good.model_copy(
        update={"shares": (share.model_copy(update={"share_token": unstamped}),)}
    )
    before = await snapshot(store)
    with pytest.raises(ApplicationError) as refused:
        await service.tell_organisation(action)
    assert (refused.value.type, refused.value.message) == ("ShareRefused", "death_not_recorded")
    assert await snapshot(store) == before
    assert recording.sent == []


async def test_data_that_is_not_a_death_is_refused(
    service: PartnerActivities, store: PartnerStore, recording: Recording
) -> None:
    identity_only = {"identity": DECEASED["identity"]}
    action = deceased_action("dwp", data=identity_only)
    await _refused_as_invalid(service, store, action, "invalid_data:death")
    assert recording.sent == []


async def test_a_notice_kafka_did_not_take_is_retried_and_nothing_is_recorded(
    store: PartnerStore, config: PartnersConfig
) -> None:
    # Never started: every send fails at once, as when Kafka is down.
    down = NoticePublisher("127.0.0.1:1", config.topics)
    service = PartnerActivities(store, keys(), config, down)
    before = await snapshot(store)

    with pytest.raises(ApplicationError) as failed:
        await service.tell_organisation(deceased_action("dvla"))

    assert (failed.value.type, failed.value.message) == ("PartnerUnavailable", "partner_not_told")
    assert not failed.value.non_retryable
    assert await snapshot(store) == before


async def test_the_share_the_workflow_sends_is_one_the_service_takes(
    service: PartnerActivities, recording: Recording
) -> None:
    # A share with no national insurance number (the register did not give it) tells DWP
    # the rest, and leaves the number out rather than sending it as null.
    data = {**DECEASED, "death": {**DECEASED["death"], "national_insurance_number": None}}
    resident = new_resident()
    issued = token(data, recipient="dwp", purpose=PURPOSE, resident=resident, deceased=True)
    action = deceased_action("dwp").model_copy(
        update={"shares": (ResidentShare(resident=resident, share_token=issued, data=data),)}
    )

    outcome = await service.tell_organisation(action)

    assert outcome.code == "told"
    [(topic, record)] = recording.sent
    assert topic == "lifeevents.partner.dwp.v1"
    assert b"national_insurance_number" not in record.value
    assert b"null" not in record.value
