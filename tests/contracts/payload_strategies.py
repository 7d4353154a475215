"""Hypothesis strategies for valid life-event payloads (as JSON-ready dicts) and for junk.

Everything generated is synthetic: names are random Unicode, identifiers are computed to
pass their checks, phone numbers come from Ofcom's drama ranges, e-mail is @example.*.
"""

from __future__ import annotations

import string
from datetime import date, timedelta
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from contracts.addresses import _POSTCODE_PATTERN
from contracts.dates import uk_today
from contracts.identifiers import is_valid_nhs_number, is_valid_ni_number

TODAY = uk_today()

# Enough examples to find real bugs while keeping the whole contracts run well under a
# minute; these tests build deep payloads, so generation is slower than hypothesis expects.
contract_settings = settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)

_NAME_CHARS = st.characters(
    exclude_categories=("Cc", "Cs", "Co", "Cn", "Zl", "Zp"),
)
name_parts = st.text(_NAME_CHARS, min_size=1, max_size=30).filter(lambda s: s.strip() != "")


@st.composite
def person_names(draw: st.DrawFn) -> dict[str, Any]:
    shape = draw(st.sampled_from(["both", "given", "family"]))
    name: dict[str, Any] = {}
    if shape in {"both", "given"}:
        name["given_names"] = draw(name_parts)
    if shape in {"both", "family"}:
        name["family_name"] = draw(name_parts)
    return name


postcodes = st.from_regex(_POSTCODE_PATTERN, fullmatch=True)


@st.composite
def addresses(draw: st.DrawFn) -> dict[str, Any]:
    line = st.text(string.ascii_letters + string.digits + " ,'-", min_size=1, max_size=40)
    address: dict[str, Any] = {
        "lines": draw(st.lists(line.filter(lambda s: s.strip() != ""), min_size=1, max_size=5)),
        "town": draw(st.sampled_from(["Exampletown", "Sampleford", "Testbury"])),
        "postcode": draw(postcodes),
    }
    if draw(st.booleans()):
        address["uprn"] = str(draw(st.integers(1, 999_999_999_999)))
    return address


@st.composite
def nhs_numbers(draw: st.DrawFn) -> str:
    stem = draw(st.text(string.digits, min_size=9, max_size=9))
    for check in string.digits:
        if is_valid_nhs_number(stem + check):
            return stem + check
    return "9990000018"  # this stem has no valid check digit; fall back to a test number


_NI_FIRST = "ABCEGHJKLMNOPRSTWXYZ"
_NI_SECOND = "ABCEGHJKLMNPRSTWXYZ"
ni_numbers = st.builds(
    lambda a, b, digits, suffix: f"{a}{b}{digits}{suffix}",
    st.sampled_from(_NI_FIRST),
    st.sampled_from(_NI_SECOND),
    st.text(string.digits, min_size=6, max_size=6),
    st.sampled_from("ABCD"),
).filter(is_valid_ni_number)

phones = st.one_of(
    st.integers(0, 999).map(lambda n: f"+44207946{n:04d}"),
    st.integers(0, 999).map(lambda n: f"+441134960{n:03d}"),
)
emails = st.builds(
    lambda local, domain: f"{local}@{domain}",
    st.from_regex(r"[a-z][a-z0-9]{0,15}(\.[a-z0-9]{1,8})?", fullmatch=True),
    st.sampled_from(["example.com", "example.org", "example.net"]),
)


@st.composite
def contacts(draw: st.DrawFn) -> dict[str, Any]:
    which = draw(st.sampled_from(["email", "phone", "both"]))
    contact: dict[str, Any] = {}
    if which in {"email", "both"}:
        contact["email"] = draw(emails)
    if which in {"phone", "both"}:
        contact["phone"] = draw(phones)
    return contact


def _maybe(draw: st.DrawFn, target: dict[str, Any], key: str, strategy: Any) -> None:
    if draw(st.booleans()):
        target[key] = draw(strategy)


def _iso(value: date) -> str:
    return value.isoformat()


references = st.from_regex(r"[A-Z]{2,4}-[0-9]{4}-[0-9]{3,6}", fullmatch=True)
registration_district = st.sampled_from(["Exampletown", "Sampleford", "Testbury"])


@st.composite
def birth_payloads(draw: st.DrawFn) -> dict[str, Any]:
    dob = draw(st.dates(TODAY - timedelta(days=400), TODAY))
    registered = draw(st.dates(dob, TODAY))
    child: dict[str, Any] = {
        "name": draw(person_names()),
        "date_of_birth": _iso(dob),
        "sex": draw(st.sampled_from(["male", "female", "indeterminate"])),
        "place_of_birth": {"description": "Exampletown General Hospital (fictional)"},
    }
    _maybe(draw, child, "nhs_number", nhs_numbers())
    parents = []
    for role in draw(st.lists(st.sampled_from(["mother", "father", "parent"]), max_size=2)):
        parent: dict[str, Any] = {
            "role": role,
            "name": draw(person_names()),
            "address": draw(addresses()),
        }
        _maybe(
            draw,
            parent,
            "date_of_birth",
            st.dates(date(1950, 1, 1), dob - timedelta(days=1)).map(_iso),
        )
        _maybe(draw, parent, "contact", contacts())
        _maybe(draw, parent, "national_insurance_number", ni_numbers)
        parents.append(parent)
    payload: dict[str, Any] = {
        "child": child,
        "parents": parents,
        "registration": {
            "district": draw(registration_district),
            "registered_on": _iso(registered),
            "entry_reference": draw(references),
        },
    }
    if not parents or draw(st.booleans()):
        payload["informant"] = {
            "capacity": draw(st.sampled_from(["mother", "occupier", "other"])),
            "name": draw(person_names()),
            "address": draw(addresses()),
        }
    return payload


@st.composite
def move_payloads(draw: st.DrawFn) -> dict[str, Any]:
    move_date = draw(st.dates(TODAY - timedelta(days=5 * 365), TODAY + timedelta(days=170)))
    direction = draw(st.sampled_from(["into", "within", "out_of"]))
    movers = []
    for _ in range(draw(st.integers(1, 4))):
        mover: dict[str, Any] = {"name": draw(person_names())}
        born_by = min(move_date, TODAY)
        _maybe(draw, mover, "date_of_birth", st.dates(date(1930, 1, 1), born_by).map(_iso))
        _maybe(draw, mover, "contact", contacts())
        _maybe(draw, mover, "nhs_number", nhs_numbers())
        movers.append(mover)
    old = draw(addresses())
    new = draw(addresses().filter(lambda a: a != old))
    payload: dict[str, Any] = {
        "movers": movers,
        "move_date": _iso(move_date),
        "direction": direction,
        "source_reference": draw(references),
    }
    if direction != "into" or draw(st.booleans()):
        payload["old_address"] = old
    if direction != "out_of" or draw(st.booleans()):
        payload["new_address"] = new
    _maybe(draw, payload, "tenure", st.sampled_from(["owner_occupier", "social_rented", "other"]))
    return payload


@st.composite
def related_people(draw: st.DrawFn) -> dict[str, Any]:
    person: dict[str, Any] = {
        "name": draw(person_names()),
        "relationship": draw(st.sampled_from(["daughter", "son", "spouse", "solicitor"])),
    }
    _maybe(draw, person, "address", addresses())
    _maybe(draw, person, "contact", contacts())
    return person


@st.composite
def death_payloads(draw: st.DrawFn) -> dict[str, Any]:
    dob = draw(st.dates(date(1900, 1, 1), TODAY))
    dod = draw(st.dates(dob, TODAY))
    registered = draw(st.dates(dod, TODAY))
    deceased: dict[str, Any] = {
        "name": draw(person_names()),
        "date_of_birth": _iso(dob),
        "date_of_death": _iso(dod),
        "last_address": draw(addresses()),
    }
    _maybe(draw, deceased, "nhs_number", nhs_numbers())
    _maybe(draw, deceased, "national_insurance_number", ni_numbers)
    payload: dict[str, Any] = {
        "deceased": deceased,
        "informant": draw(related_people()),
        "next_of_kin": draw(st.lists(related_people(), max_size=2)),
        "executors": draw(st.lists(related_people(), max_size=2)),
        "organisations_to_tell": draw(
            st.lists(st.sampled_from(["dwp", "hmrc", "dvla", "council_tax"]), unique=True)
        ),
        "registration": {
            "district": draw(registration_district),
            "registered_on": _iso(registered),
            "entry_reference": draw(references),
        },
    }
    if draw(st.booleans()):
        payload["household_members"] = draw(
            st.lists(st.builds(lambda n: {"name": n}, person_names()), max_size=3)
        )
    return payload


PAYLOADS = {
    "lifeevents.birth.registered.v1": birth_payloads(),
    "lifeevents.address.changed.v1": move_payloads(),
    "lifeevents.death.registered.v1": death_payloads(),
}

typed_payloads: st.SearchStrategy[tuple[str, dict[str, Any]]] = st.sampled_from(
    sorted(PAYLOADS)
).flatmap(lambda event_type: PAYLOADS[event_type].map(lambda data: (event_type, data)))

json_junk = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=20,
)
