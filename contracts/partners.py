"""Tell Us Once, outbound: what the platform tells an organisation outside the council of a
death the informant agreed it should be told of.

Each organisation (DWP, HMRC, HM Passport Office, DVLA... by its `TellUsOnceRecipient`
code) reads its own Kafka topic (`contracts.topics.PARTNER_TOPICS`). A notice is a CloudEvent
in binary mode, as on every other topic of ours:

- ``ce_type`` is ``lifeevents.partner.death_notified.v1`` (``DEATH_NOTIFIED``);
- ``ce_id``, ``ce_subject`` and the record key are all the notice's ``reference``: opaque,
  derived from the workflow and step (`tell_us_once_reference`), so the notice of one death to
  one organisation has one id however often it is sent, and the partner de-duplicates on it;
- ``ce_dataschema`` is the URN of the ``lifeevents.partner.death-notice.v1`` schema;
- the value is the `DeathNotice` JSON, holding only the person fields that organisation
  needs (the partners service's configuration says which): a field it does not need is
  absent, never sent as null.

The notice is not a life event: no topic of ours takes it in, so it is not in
``contracts.registry``. It is published as a shape (``contracts.shapes``), with its own schema
and snapshot, under a name of its own because a shape name is kebab case and an event type
takes no hyphen.
"""

from __future__ import annotations

import hashlib
from datetime import date, datetime
from typing import Annotated, Any, ClassVar, Final, Literal, get_args

from pydantic import Field, SerializerFunctionWrapHandler, StringConstraints, model_serializer

from contracts.addresses import UkAddress
from contracts.cloudevents import SPECVERSION, CloudEvent, KafkaRecord, to_binary
from contracts.events.common import Payload
from contracts.events.death import TellUsOnceRecipient
from contracts.identifiers import NationalInsuranceNumber
from contracts.people import PersonName
from contracts.registry import SCHEMA_URI_PREFIX

__all__ = [
    "DEATH_NOTICE_SCHEMA_URI",
    "DEATH_NOTICE_SHAPE",
    "DEATH_NOTIFIED",
    "PERSON_FIELDS",
    "REQUIRED_PERSON_FIELDS",
    "DeathNotice",
    "PersonField",
    "TellUsOnceReference",
    "death_notified",
    "tell_us_once_reference",
    "to_partner_record",
]

DEATH_NOTIFIED: Final = "lifeevents.partner.death_notified.v1"
"""The CloudEvent type of a notice of death to an outside organisation."""

DEATH_NOTICE_SHAPE: Final = "lifeevents.partner.death-notice.v1"
"""The name its data is published under (schemas/lifeevents.partner.death-notice.v1.json)."""

DEATH_NOTICE_SCHEMA_URI: Final = f"{SCHEMA_URI_PREFIX}{DEATH_NOTICE_SHAPE}"

TellUsOnceReference = Annotated[
    str,
    StringConstraints(pattern=r"^TUO-[0-9a-f]{20}$"),
    Field(
        description="Opaque and stable: `TUO-` and the first 20 hex digits of the SHA-256 of "
        "the workflow ID and step. The same death told to the same organisation again "
        "(a retry) has the same reference; it is the event id and the record key."
    ),
]


def tell_us_once_reference(workflow_id: str, step: str) -> str:
    """The notice's reference: one per workflow and step, revealing neither."""
    digest = hashlib.sha256(f"{workflow_id}\n{step}".encode()).hexdigest()
    return f"TUO-{digest[:20]}"


class DeathNotice(Payload):
    """A death an outside organisation is told of (Tell Us Once), because the informant
    agreed it should be. Only the person fields the organisation needs are present: a
    field it does not need is absent (a producer never sends it as null; null, where
    accepted, means the same). Sent on the organisation's own topic,
    lifeevents.partner.<organisation>.v1, as a binary-mode CloudEvent of type
    lifeevents.partner.death_notified.v1 whose id, subject and record key are the
    reference."""

    event_type: ClassVar[str] = DEATH_NOTIFIED

    reference: TellUsOnceReference
    organisation: TellUsOnceRecipient = Field(description="Who is told, by its code.")
    basis: Literal["informant_agreement"] = Field(
        description="Why it may be told: the informant agreed, when the death was registered."
    )
    name: PersonName = Field(description="The deceased's name as registered.")
    date_of_birth: date | None = Field(
        default=None, description="The deceased's date of birth, when the organisation needs it."
    )
    date_of_death: date
    last_address: UkAddress | None = Field(
        default=None,
        description="The deceased's usual address at the date of death, when the "
        "organisation needs it.",
    )
    national_insurance_number: NationalInsuranceNumber | None = Field(
        default=None,
        description="When the organisation finds its own record by it (DWP, HMRC) and the "
        "register gave it.",
    )

    @model_serializer(mode="wrap")
    def _absent_not_null(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        # A field not told is left out: the organisation sees exactly what it may have.
        dumped: dict[str, Any] = handler(self)
        return {name: value for name, value in dumped.items() if value is not None}


PersonField = Literal[
    "name", "date_of_birth", "date_of_death", "last_address", "national_insurance_number"
]
"""The person fields a notice may carry; an organisation is configured with some of them."""

PERSON_FIELDS: Final[tuple[PersonField, ...]] = get_args(PersonField)

REQUIRED_PERSON_FIELDS: Final[tuple[PersonField, ...]] = ("name", "date_of_death")
"""The ones every notice carries: whom, and when."""


def death_notified(notice: DeathNotice, *, source: str, time: datetime) -> CloudEvent[DeathNotice]:
    """The notice as a CloudEvent: id and subject are its reference."""
    return CloudEvent[DeathNotice](
        specversion=SPECVERSION,
        id=notice.reference,
        source=source,
        type=DEATH_NOTIFIED,
        time=time,
        subject=notice.reference,
        datacontenttype="application/json",
        # The envelope's dataschema names life-event schemas only; the header names ours.
        dataschema=None,
        data=notice,
    )


def to_partner_record(event: CloudEvent[DeathNotice]) -> KafkaRecord:
    """Binary mode, as `contracts.cloudevents.to_binary`, with ``ce_dataschema`` naming the
    notice's schema. Key = the reference; no header carries personal data."""
    record = to_binary(event)
    return KafkaRecord(
        key=record.key,
        value=record.value,
        headers=[*record.headers, ("ce_dataschema", DEATH_NOTICE_SCHEMA_URI.encode())],
    )
