"""The three v1 payloads: their shape and their date and consistency rules."""

from __future__ import annotations

import copy
from datetime import timedelta
from typing import Any

import pytest
from tests_contracts_support import example_data

from contracts.dates import uk_today
from contracts.errors import ContractViolation
from contracts.events import AddressChangedV1, BirthRegisteredV1, DeathRegisteredV1
from contracts.registry import parse_payload

BIRTH = "lifeevents.birth.registered.v1"
MOVE = "lifeevents.address.changed.v1"
DEATH = "lifeevents.death.registered.v1"
TODAY = uk_today()


def rules(exc: pytest.ExceptionInfo[ContractViolation]) -> set[str]:
    return {v.rule for v in exc.value.violations}


def test_examples_parse_to_the_right_models() -> None:
    assert isinstance(parse_payload(BIRTH, example_data("birth-registered")), BirthRegisteredV1)
    assert isinstance(
        parse_payload(MOVE, example_data("address-changed-household")), AddressChangedV1
    )
    assert isinstance(parse_payload(DEATH, example_data("death-registered")), DeathRegisteredV1)


@pytest.mark.parametrize(
    ("event_type", "example"),
    [(BIRTH, "birth-registered"), (MOVE, "address-changed-household"), (DEATH, "death-registered")],
)
def test_unknown_fields_rejected_at_every_level(event_type: str, example: str) -> None:
    data = example_data(example)
    data["nickname"] = "x"
    with pytest.raises(ContractViolation) as exc:
        parse_payload(event_type, data)
    assert [(v.loc, v.rule) for v in exc.value.violations] == [("nickname", "extra_forbidden")]

    nested = example_data(example)
    first_person = next(iter(v for v in nested.values() if isinstance(v, dict | list)))
    target = first_person[0] if isinstance(first_person, list) else first_person
    target["name"]["middle_name"] = "x"
    with pytest.raises(ContractViolation) as exc:
        parse_payload(event_type, nested)
    assert rules(exc) == {"extra_forbidden"}


def test_payloads_are_frozen() -> None:
    birth = BirthRegisteredV1.model_validate(example_data("birth-registered"))
    with pytest.raises(ValueError, match="frozen"):
        birth.child = birth.child  # type: ignore[misc]


class TestBirth:
    def test_birth_in_the_future(self) -> None:
        data = example_data("birth-registered")
        data["child"]["date_of_birth"] = (TODAY + timedelta(days=2)).isoformat()
        with pytest.raises(ContractViolation) as exc:
            parse_payload(BIRTH, data)
        assert ("child.date_of_birth", "date_in_future") in {
            (v.loc, v.rule) for v in exc.value.violations
        }

    def test_registered_before_born(self) -> None:
        data = example_data("birth-registered")
        data["registration"]["registered_on"] = "2025-08-01"
        with pytest.raises(ContractViolation) as exc:
            parse_payload(BIRTH, data)
        assert rules(exc) == {"registered_before_event"}
        assert "registration.registered_on" in str(exc.value)

    def test_parent_born_after_child(self) -> None:
        data = example_data("birth-registered")
        data["parents"][0]["date_of_birth"] = "2025-09-02"
        with pytest.raises(ContractViolation) as exc:
            parse_payload(BIRTH, data)
        assert rules(exc) == {"parent_born_after_child"}

    def test_needs_parents_or_informant(self) -> None:
        data = example_data("birth-registered")
        data["parents"] = []
        del data["informant"]
        with pytest.raises(ContractViolation) as exc:
            parse_payload(BIRTH, data)
        assert rules(exc) == {"parent_or_informant_required"}

    def test_at_most_two_parents(self) -> None:
        data = example_data("birth-registered")
        data["parents"] = data["parents"] * 2
        with pytest.raises(ContractViolation) as exc:
            parse_payload(BIRTH, data)
        assert rules(exc) == {"too_long"}

    def test_sex_as_registered_only(self) -> None:
        data = example_data("birth-registered")
        data["child"]["sex"] = "F"
        with pytest.raises(ContractViolation) as exc:
            parse_payload(BIRTH, data)
        assert rules(exc) == {"literal_error"}

    def test_implausibly_early_date_of_birth(self) -> None:
        data = example_data("birth-registered")
        data["parents"][0]["date_of_birth"] = "1792-04-30"
        with pytest.raises(ContractViolation) as exc:
            parse_payload(BIRTH, data)
        assert rules(exc) == {"date_of_birth_too_early"}


class TestMove:
    def _with(self, **changes: Any) -> dict[str, Any]:
        data = example_data("address-changed-household")
        data.update(changes)
        return data

    def test_move_date_far_in_the_past(self) -> None:
        data = self._with(move_date=(TODAY - timedelta(days=7 * 365)).isoformat())
        with pytest.raises(ContractViolation) as exc:
            parse_payload(MOVE, data)
        assert rules(exc) == {"move_date_too_old"}

    def test_move_date_far_ahead(self) -> None:
        data = self._with(move_date=(TODAY + timedelta(days=365)).isoformat())
        with pytest.raises(ContractViolation) as exc:
            parse_payload(MOVE, data)
        assert rules(exc) == {"move_date_too_far_ahead"}

    def test_planned_move_soon_is_fine(self) -> None:
        data = self._with(move_date=(TODAY + timedelta(days=30)).isoformat())
        assert parse_payload(MOVE, data)

    @pytest.mark.parametrize(
        ("direction", "missing", "rule"),
        [
            ("within", "old_address", "old_address_required"),
            ("out_of", "old_address", "old_address_required"),
            ("within", "new_address", "new_address_required"),
            ("into", "new_address", "new_address_required"),
        ],
    )
    def test_addresses_required_by_direction(self, direction: str, missing: str, rule: str) -> None:
        data = self._with(direction=direction)
        data[missing] = None
        with pytest.raises(ContractViolation) as exc:
            parse_payload(MOVE, data)
        assert rules(exc) == {rule}

    def test_into_area_from_abroad_and_out_to_unknown(self) -> None:
        assert parse_payload(MOVE, self._with(direction="into", old_address=None))
        assert parse_payload(MOVE, self._with(direction="out_of", new_address=None))

    def test_same_address(self) -> None:
        data = example_data("address-changed-household")
        data["new_address"] = copy.deepcopy(data["old_address"])
        with pytest.raises(ContractViolation) as exc:
            parse_payload(MOVE, data)
        assert rules(exc) == {"same_address"}

    def test_needs_someone_moving(self) -> None:
        with pytest.raises(ContractViolation) as exc:
            parse_payload(MOVE, self._with(movers=[]))
        assert rules(exc) == {"too_short"}


class TestDeath:
    def test_death_before_birth(self) -> None:
        data = example_data("death-registered")
        data["deceased"]["date_of_death"] = "1930-01-01"
        with pytest.raises(ContractViolation) as exc:
            parse_payload(DEATH, data)
        assert rules(exc) == {"death_before_birth"}
        assert "deceased.date_of_death" in str(exc.value)

    def test_death_in_the_future(self) -> None:
        data = example_data("death-registered")
        data["deceased"]["date_of_death"] = (TODAY + timedelta(days=3)).isoformat()
        with pytest.raises(ContractViolation) as exc:
            parse_payload(DEATH, data)
        assert "date_in_future" in rules(exc)

    def test_registered_before_death(self) -> None:
        data = example_data("death-registered")
        data["registration"]["registered_on"] = "2025-08-01"
        with pytest.raises(ContractViolation) as exc:
            parse_payload(DEATH, data)
        assert rules(exc) == {"registered_before_event"}

    def test_household_unknown_versus_lived_alone(self) -> None:
        data = example_data("death-registered")
        data["household_members"] = None
        assert parse_payload(DEATH, data).household_members is None  # type: ignore[attr-defined]
        data["household_members"] = []
        assert parse_payload(DEATH, data).household_members == ()  # type: ignore[attr-defined]

    def test_unknown_or_repeated_organisations(self) -> None:
        data = example_data("death-registered")
        data["organisations_to_tell"] = ["dwp", "the_press"]
        with pytest.raises(ContractViolation) as exc:
            parse_payload(DEATH, data)
        assert rules(exc) == {"literal_error"}
        data["organisations_to_tell"] = ["dwp", "dwp"]
        with pytest.raises(ContractViolation) as exc:
            parse_payload(DEATH, data)
        assert rules(exc) == {"duplicate_organisation"}
