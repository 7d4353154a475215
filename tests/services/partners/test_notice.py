"""The outbound contract (contracts/partners.py): the reference is opaque and stable, a
notice leaves out what is not told, and the published schema refuses what the model
refuses."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from pydantic import ValidationError

from contracts.generate import PUBLISHED_DIR, SCHEMAS_DIR, dumps
from contracts.partners import (
    DEATH_NOTICE_SHAPE,
    DeathNotice,
    death_notified,
    tell_us_once_reference,
    to_partner_record,
)
from contracts.schema import shape_schema

NOTICE: dict[str, Any] = {
    "reference": "TUO-0123456789abcdef0123",
    "organisation": "hm_passport_office",
    "basis": "informant_agreement",
    "name": {"given_names": "Imaginary Albert", "family_name": "Testworth"},
    "date_of_birth": "1938-02-14",
    "date_of_death": "2025-08-07",
}


def validator() -> Draft202012Validator:
    schema = json.loads((PUBLISHED_DIR / f"{DEATH_NOTICE_SHAPE}.json").read_text("utf-8"))
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


def test_the_schema_is_generated_and_published_as_it_stands() -> None:
    generated = dumps(shape_schema(DEATH_NOTICE_SHAPE))
    assert (SCHEMAS_DIR / f"{DEATH_NOTICE_SHAPE}.json").read_text("utf-8") == generated
    assert (PUBLISHED_DIR / f"{DEATH_NOTICE_SHAPE}.json").read_text("utf-8") == generated


def test_the_reference_is_stable_per_step_and_reveals_neither() -> None:
    reference = tell_us_once_reference("death-0123", "tell-dwp")
    assert reference == tell_us_once_reference("death-0123", "tell-dwp")
    assert reference != tell_us_once_reference("death-0123", "tell-hmrc")
    assert reference != tell_us_once_reference("death-0124", "tell-dwp")
    assert re.fullmatch(r"TUO-[0-9a-f]{20}", reference)
    assert "death" not in reference
    assert "dwp" not in reference


def test_a_field_not_told_is_left_out_not_sent_as_null() -> None:
    notice = DeathNotice.model_validate(NOTICE)
    sent = json.loads(notice.model_dump_json())
    assert set(sent) == set(NOTICE)
    validator().validate(sent)


def test_the_record_is_binary_mode_keyed_by_the_reference() -> None:
    notice = DeathNotice.model_validate(NOTICE)
    record = to_partner_record(
        death_notified(notice, source="/lifeevents/tell-us-once", time=datetime.now(UTC))
    )
    headers = dict(record.headers)
    assert record.key == headers["ce_id"] == headers["ce_subject"] == NOTICE["reference"].encode()
    assert json.loads(record.value) == NOTICE


REFUSED = [
    {"surplus": "x"},  # no field that was not agreed
    {"nhs_number": "9990000034"},
    {"reference": "TUO-XYZ"},
    {"reference": "case-0123456789abcdef0123"},
    {"organisation": "job_centre"},
    {"basis": "public_task"},
    {"name": None},
    {"name": {}},
    {"date_of_death": None},
    {"date_of_death": "7 August 2025"},
    {"national_insurance_number": "not a number"},
    {"last_address": {"lines": ["12 Hypothetical Road"], "town": "Exampletown"}},
]


@pytest.mark.parametrize("change", REFUSED, ids=lambda c: next(iter(c)))
def test_the_schema_refuses_what_the_model_refuses(change: dict[str, Any]) -> None:
    data = {**NOTICE, **change}
    assert not validator().is_valid(data)
    with pytest.raises(ValidationError):
        DeathNotice.model_validate_json(json.dumps(data))


@pytest.mark.parametrize("missing", ["reference", "organisation", "basis", "name", "date_of_death"])
def test_what_every_notice_carries_is_required_by_both(missing: str) -> None:
    data = {k: v for k, v in NOTICE.items() if k != missing}
    assert not validator().is_valid(data)
    with pytest.raises(ValidationError):
        DeathNotice.model_validate_json(json.dumps(data))
