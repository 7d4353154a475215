"""`partners.tell_organisation` against the real Kafka: each organisation is told, on its own
topic, exactly the fields it needs, in a record valid for the published schema, keyed by an
opaque reference; a repeated step sends nothing new; a send the commit never followed is sent
again with the same event id."""

from __future__ import annotations

import json
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from contracts.actions import ActionOutcome
from contracts.cloudevents import KafkaRecord
from contracts.generate import PUBLISHED_DIR
from contracts.partners import DEATH_NOTICE_SCHEMA_URI, DEATH_NOTICE_SHAPE, tell_us_once_reference
from services.partners.activities import PartnerActivities
from services.partners.config import PartnersConfig
from services.partners.publisher import NoticePublisher
from services.partners.store import PartnerStore
from tests.services.partners.support import (
    DEATH,
    IDENTITY,
    PERSONAL,
    deceased_action,
    read_topic,
)
from tests.support.council import keys, snapshot

pytestmark = pytest.mark.stack

# What each organisation is told, written out here and not read from partners.toml: the
# test holds the configuration to what was agreed with each organisation.
TOLD: dict[str, set[str]] = {
    "dwp": {
        "name",
        "date_of_birth",
        "date_of_death",
        "last_address",
        "national_insurance_number",
    },
    "hmrc": {"name", "date_of_birth", "date_of_death", "national_insurance_number"},
    "hm_passport_office": {"name", "date_of_birth", "date_of_death"},
    "dvla": {"name", "date_of_birth", "date_of_death", "last_address"},
}
# Every notice's own fields besides the person's.
NOTICE = {"reference", "organisation", "basis"}
# Binary mode: the CloudEvents attributes, and nothing else.
HEADERS = {
    "content-type",
    "ce_specversion",
    "ce_id",
    "ce_source",
    "ce_type",
    "ce_time",
    "ce_subject",
    "ce_dataschema",
}
# The deceased's data as each field should arrive.
VALUES: dict[str, Any] = {
    "name": IDENTITY["name"],
    "date_of_birth": IDENTITY["date_of_birth"],
    "date_of_death": DEATH["date_of_death"],
    "last_address": DEATH["last_address"],
    "national_insurance_number": DEATH["national_insurance_number"],
}


def published_validator() -> Draft202012Validator:
    """The published snapshot, read by an independent validator (formats checked too)."""
    schema = json.loads((PUBLISHED_DIR / f"{DEATH_NOTICE_SHAPE}.json").read_text("utf-8"))
    Draft202012Validator.check_schema(schema)
    assert schema["$id"] == DEATH_NOTICE_SCHEMA_URI
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


@pytest.mark.parametrize("organisation", sorted(TOLD))
async def test_each_organisation_is_told_its_own_fields_on_its_own_topic(
    service: PartnerActivities, config: PartnersConfig, kafka_bootstrap: str, organisation: str
) -> None:
    action = deceased_action(organisation, step=f"tell-{organisation}")

    outcome = await service.tell_organisation(action)

    reference = tell_us_once_reference(action.workflow_id, action.step)
    assert outcome == ActionOutcome(
        outcome="done",
        code="told",
        references={"organisation": organisation, "reference": reference},
    )
    [record] = await read_topic(kafka_bootstrap, config.organisations[organisation].topic)
    # 1. Valid for the published schema.
    published_validator().validate(record.value)
    # 2. Exactly the fields agreed with the organisation, with the deceased's values.
    assert set(record.value) == NOTICE | TOLD[organisation]
    assert record.value["reference"] == reference
    assert record.value["organisation"] == organisation
    assert record.value["basis"] == "informant_agreement"
    for field in TOLD[organisation]:
        assert record.value[field] == VALUES[field], field
    # 3. Keyed by the reference; the headers are the CloudEvents attributes, none personal.
    assert record.key == reference.encode()
    assert sorted(record.header_names) == sorted(HEADERS)
    assert record.headers["content-type"] == b"application/json"
    assert record.headers["ce_type"] == b"lifeevents.partner.death_notified.v1"
    assert record.headers["ce_id"] == record.headers["ce_subject"] == reference.encode()
    assert record.headers["ce_source"] == config.source.encode()
    assert record.headers["ce_dataschema"] == DEATH_NOTICE_SCHEMA_URI.encode()
    exposed = (record.key or b"") + b"".join(record.headers.values())
    for value in PERSONAL:
        assert value.encode() not in exposed, value
    # No other organisation's topic has it.
    for other, told in config.organisations.items():
        if other != organisation:
            assert await read_topic(kafka_bootstrap, told.topic) == []


async def test_a_repeated_step_sends_nothing_new(
    service: PartnerActivities,
    store: PartnerStore,
    config: PartnersConfig,
    kafka_bootstrap: str,
) -> None:
    action = deceased_action("dwp", step="tell-dwp")
    first = await service.tell_organisation(action)
    # The same step again: a retry whose answer was lost, and one with a token decided anew.
    anew = deceased_action(
        "dwp", workflow_id=action.workflow_id, step=action.step, resident=action.residents[0]
    )

    assert await service.tell_organisation(action) == first
    assert await service.tell_organisation(anew) == first

    records = await read_topic(kafka_bootstrap, config.organisations["dwp"].topic)
    assert len(records) == 1
    assert [n.reference for n in await store.all_notices()] == [first.references["reference"]]
    # Another step of the same workflow is another notice, with another reference.
    other = await service.tell_organisation(
        deceased_action("dwp", workflow_id=action.workflow_id, step="tell-dwp-again")
    )
    assert other.references["reference"] != first.references["reference"]


class CrashingAfterSend:
    """The publisher of a worker that dies after Kafka acknowledged the notice and before
    the step was committed (once)."""

    def __init__(self, publisher: NoticePublisher) -> None:
        self.publisher = publisher
        self.crashed = False

    async def publish(self, topic: str, record: KafkaRecord) -> None:
        await self.publisher.publish(topic, record)
        if not self.crashed:
            self.crashed = True
            raise RuntimeError("the worker died after the send, before the commit")


async def test_a_send_the_commit_never_followed_is_sent_again_with_the_same_id(
    store: PartnerStore,
    config: PartnersConfig,
    publisher: NoticePublisher,
    kafka_bootstrap: str,
) -> None:
    service = PartnerActivities(store, keys(), config, CrashingAfterSend(publisher))
    action = deceased_action("hmrc", step="tell-hmrc")
    empty = await snapshot(store)

    with pytest.raises(RuntimeError):
        await service.tell_organisation(action)
    assert await snapshot(store) == empty  # nothing committed: the step is not done
    outcome = await service.tell_organisation(action)  # Temporal's retry

    first, second = await read_topic(kafka_bootstrap, config.organisations["hmrc"].topic)
    # At least once, as one event: the organisation de-duplicates on ce_id.
    assert first.key == second.key == outcome.references["reference"].encode()
    assert first.headers["ce_id"] == second.headers["ce_id"]
    assert first.value == second.value
    assert len(await store.all_notices()) == 1
    assert len((await snapshot(store))["partner_actions"]) == 1
    assert await service.tell_organisation(action) == outcome  # and then never again
    assert len(await read_topic(kafka_bootstrap, config.organisations["hmrc"].topic)) == 2
