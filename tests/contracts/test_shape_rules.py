"""The shapes' schemas and models agree on every rule the schemas state.

As tests/contracts/test_schema_rules.py does for the events: for each stated rule, a shape
that keeps it is valid for both, and one that breaks it is refused by both: by the model
with that rule's code, by the schema because of that rule (without the rule's ``allOf``
entry the schema would take it). Every rule the shapes' modules raise is stated, stated on
the value, or model-only (``contracts.rules.MODEL_ONLY_RULES``, with why). Then, for the
rules between fields, every combination of the fields involved: schema and model agree.
"""

from __future__ import annotations

import itertools
import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import TypeAdapter, ValidationError
from shape_examples import NEW_ADDRESS, OLD_ADDRESS, OTHER, RESIDENT, TOKEN, example
from tests_contracts_support import (
    DELETE,
    changed,
    schema_file,
    stated_rules,
    validator,
    without_rule,
)

from contracts.errors import safe_errors
from contracts.generate import CONTRACTS_DIR
from contracts.rules import MODEL_ONLY_RULES
from contracts.shapes import SHAPES, shape
from contracts.shares import SPECIAL_CATEGORIES, DataCategory

GRANT = "lifeevents.consent.grant.v1"
RECORD = "lifeevents.consent.record.v1"
REQUEST = "lifeevents.consent.share-request.v2"
ACTION = "lifeevents.action.service-action.v1"
ADDRESS = "lifeevents.share.address.v1"
MATCH = "lifeevents.residents.match-result.v1"
DECISION = "lifeevents.residents.caseworker-decision.v1"
MOVE = "lifeevents.residents.move-record.v1"
PREFERENCES = "lifeevents.residents.preference-update.v1"
AGREEMENT = "lifeevents.consent.informant-agreement.v1"


def _schema(name: str) -> dict[str, Any]:
    return schema_file(f"{name}.json")


SCHEMAS = {name: _schema(name) for name in SHAPES}
VALIDATORS = {name: validator(schema) for name, schema in SCHEMAS.items()}


def _model_rules(name: str, data: Any) -> set[str]:
    """The rule codes the model refuses ``data`` (JSON, as on the wire) for."""
    try:
        TypeAdapter(shape(name).type).validate_json(json.dumps(data))
    except ValidationError as error:
        return {v.rule for v in safe_errors(error)}
    return set()


# --- the rules stated as allOf entries ---------------------------------------------------

# (rule code, shape, changes to its example that keep the rule, changes that break it)
STATED = [
    (
        "special_category",
        GRANT,
        {"data_categories": ["identity", "address"], "special_category": False},
        {"data_categories": ["identity", "address"]},
    ),
    ("special_category", GRANT, {"data_categories": ["health"]}, {"special_category": False}),
    ("special_category", RECORD, {}, {"special_category": False}),
    (
        "old_address_required",
        ADDRESS,
        {"direction": "into", "old_address": DELETE},
        {"old_address": DELETE},
    ),
    (
        "old_address_required",
        ADDRESS,
        {"direction": "into", "old_address": None},
        {"direction": "out_of", "old_address": None},
    ),
    (
        "new_address_required",
        ADDRESS,
        {"direction": "out_of", "new_address": None},
        {"new_address": None},
    ),
    (
        "new_address_required",
        ADDRESS,
        {"direction": "out_of", "new_address": DELETE},
        {"direction": "into", "new_address": DELETE},
    ),
    (
        "new_address_required",
        MOVE,
        {"direction": "out_of", "new_address": None},
        {"new_address": None},
    ),
    (
        "match_resident",
        MATCH,
        {"outcome": "doubtful", "resident": None, "rule": "several_candidates"},
        {"outcome": "doubtful", "rule": "several_candidates"},
    ),
    ("match_resident", MATCH, {"outcome": "created"}, {"resident": None}),
    (
        "decision_resident",
        DECISION,
        {"decision": "create", "resident": None},
        {"decision": "create"},
    ),
    (
        "decision_resident",
        DECISION,
        {"decision": "create", "resident": DELETE},
        {"resident": DELETE},
    ),
    (
        "duplicate_channel",
        PREFERENCES,
        {"channels": ["sms", "email"]},
        {"channels": ["sms", "sms"]},
    ),
    (
        "duplicate_channel",
        PREFERENCES,
        {"channels": None},
        {"channels": ["email", "letter", "email"]},
    ),
    (
        "recipient_repeated",
        AGREEMENT,
        {"recipients": ["dwp", "hmrc", "dvla"]},
        {"recipients": ["dwp", "hmrc", "dwp"]},
    ),
]


@pytest.mark.parametrize(
    ("code", "name", "keeps", "breaks"), STATED, ids=[f"{c[0]}-{c[1]}" for c in STATED]
)
def test_a_stated_rule_is_kept_and_broken_alike(
    code: str, name: str, keeps: dict[str, Any], breaks: dict[str, Any]
) -> None:
    kept = changed(example(name), keeps)
    assert VALIDATORS[name].is_valid(kept), [e.message for e in VALIDATORS[name].iter_errors(kept)]
    assert _model_rules(name, kept) == set()

    broken = changed(example(name), breaks)
    assert not VALIDATORS[name].is_valid(broken)
    assert _model_rules(name, broken) == {code}
    # ... and it is that rule which refuses it in the schema.
    assert validator(without_rule(SCHEMAS[name], code)).is_valid(broken)


def test_every_stated_rule_is_tested_here_and_none_is_model_only() -> None:
    stated = stated_rules(list(SCHEMAS.values()))
    # The shapes carry people and contact details, whose rules the events' tests hold.
    assert stated - {"name_required", "contact_required"} == {case[0] for case in STATED}
    assert not stated & MODEL_ONLY_RULES.keys()


# Rules on one value, stated where the value's schema is.
STATED_ON_THE_VALUE = {
    "category_repeated": "uniqueItems on every list of data categories",
    "postcode": "the postcode pattern (tests/contracts/test_schema_rules.py)",
}
# The modules whose rules the shapes' schemas state. people.py, dates.py and identifiers.py
# are the events' too, and tests/contracts/test_schema_rules.py holds their rules.
SHAPE_MODULES = [
    "consent.py",
    "actions.py",
    "shares.py",
    "residents.py",
    "notifications.py",
    "plan.py",
    "timeline.py",
    "addresses.py",
]
_RAISED = re.compile(r'(?:rule_error|Rule)\(\s*"([a-z_]+)"')


def test_every_rule_of_the_shapes_is_stated_or_model_only() -> None:
    raised: set[str] = set()
    for module in SHAPE_MODULES:
        text = (CONTRACTS_DIR / module).read_text("utf-8")
        raised |= set(_RAISED.findall(text))
        # Every failure a validator raises has a rule code: no bare ValueError.
        assert "raise ValueError" not in text, module
    stated = stated_rules(list(SCHEMAS.values()))
    unclassified = raised - stated - STATED_ON_THE_VALUE.keys() - MODEL_ONLY_RULES.keys()
    assert not unclassified, "state these rules in the schema, or say why they cannot be"
    assert not STATED_ON_THE_VALUE.keys() & MODEL_ONLY_RULES.keys()


@pytest.mark.parametrize("name", [GRANT, RECORD, REQUEST])
def test_repeated_categories_are_refused_by_both(name: str) -> None:
    data = changed(example(name), {"data_categories": ["identity", "identity"]})
    assert not VALIDATORS[name].is_valid(data)
    assert _model_rules(name, data) == {"category_repeated"}
    # Any order is taken (and sorted by the model).
    data = changed(example(name), {"data_categories": ["identity", "address"]})
    if name != REQUEST:
        data["special_category"] = False
    assert VALIDATORS[name].is_valid(data)
    assert _model_rules(name, data) == set()


# --- what the schemas cannot say ---------------------------------------------------------


def test_one_share_per_resident_is_partly_the_schemas_and_wholly_the_models() -> None:
    share = example(ACTION)["shares"][0]
    # Two equal shares: uniqueItems says it, and so does the model.
    twice = changed(example(ACTION), {"shares": [share, share]})
    assert not VALIDATORS[ACTION].is_valid(twice)
    assert _model_rules(ACTION, twice) == {"resident_repeated"}
    # The same resident twice with different tokens: unique by a property, the model's alone.
    again = changed(example(ACTION), {"shares.1.resident": RESIDENT})
    assert VALIDATORS[ACTION].is_valid(again)
    assert _model_rules(ACTION, again) == {"resident_repeated"}
    assert "resident_repeated" in MODEL_ONLY_RULES


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"expires_at": "2025-01-10T10:00:00Z"}, "consent_expiry"),
        ({"expires_at": "2024-01-10T10:00:00Z"}, "consent_expiry"),
        (
            {
                "given_at": (datetime.now(UTC) + timedelta(days=2)).isoformat(),
                "expires_at": (datetime.now(UTC) + timedelta(days=400)).isoformat(),
            },
            "given_in_future",
        ),
    ],
)
def test_the_consent_dates_are_the_models_alone(changes: dict[str, Any], code: str) -> None:
    for name in (GRANT, RECORD):
        data = changed(example(name), changes)
        assert VALIDATORS[name].is_valid(data)
        assert _model_rules(name, data) == {code}
        assert code in MODEL_ONLY_RULES


# --- every combination of the fields a rule ties together ---------------------------------

_ABSENT = object()


def _combinations(name: str, values: dict[str, list[Any]]) -> list[Any]:
    cases = []
    for combination in itertools.product(*values.values()):
        changes = {
            path: DELETE if value is _ABSENT else value
            for path, value in zip(values, combination, strict=True)
        }
        cases.append(changed(example(name), changes))
    return cases


_SPECIAL = sorted(c.value for c in SPECIAL_CATEGORIES)
_ORDINARY = sorted(c.value for c in DataCategory if c not in SPECIAL_CATEGORIES)
COMBINATIONS = {
    GRANT: {
        "data_categories": [["identity"], [_SPECIAL[0]], ["address", _SPECIAL[-1]], _ORDINARY],
        "special_category": [True, False],
    },
    ADDRESS: {
        "direction": ["into", "within", "out_of"],
        "old_address": [OLD_ADDRESS, None, _ABSENT],
        "new_address": [NEW_ADDRESS, None, _ABSENT],
    },
    MOVE: {"direction": ["into", "within", "out_of"], "new_address": [NEW_ADDRESS, None]},
    MATCH: {
        "outcome": ["matched", "created", "doubtful"],
        "resident": [RESIDENT, None],
        "candidate_keys": [[], [RESIDENT, OTHER]],
    },
    DECISION: {"decision": ["link", "create"], "resident": [RESIDENT, None, _ABSENT]},
    PREFERENCES: {
        "channels": [
            None,
            _ABSENT,
            ["letter"],
            ["portal", "email", "sms", "letter"],
            ["sms", "sms"],
            ["portal", "email", "portal"],
        ]
    },
    ACTION: {
        "shares": [
            [example(ACTION)["shares"][0]],
            example(ACTION)["shares"],
            [example(ACTION)["shares"][1], {**example(ACTION)["shares"][1], "share_token": TOKEN}],
        ]
    },
}


@pytest.mark.parametrize("name", sorted(COMBINATIONS))
def test_schema_and_model_agree_on_every_combination(name: str) -> None:
    for data in _combinations(name, COMBINATIONS[name]):
        by_model = _model_rules(name, data) - MODEL_ONLY_RULES.keys()
        by_schema = [e.message for e in VALIDATORS[name].iter_errors(data)]
        assert bool(by_schema) == bool(by_model), (data, by_model, by_schema)
