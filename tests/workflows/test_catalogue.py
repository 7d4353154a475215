"""The service catalogue: plans for moves, and steps the sharing policy actually allows."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from contracts import from_structured
from contracts.plan import PlanRequest
from deploy.cli import app
from services.benefits.activities import BenefitActivities
from services.counciltax.activities import CouncilTaxActivities
from services.electoral.activities import ElectoralActivities
from services.partners.activities import PartnerActivities
from services.registers.activities import RegistersActivities
from services.schools.activities import SchoolActivities
from workflows.catalogue import StepSpec, load_catalogue, plan_for, unmet
from workflows.lifeevents import plan_request

REPO_ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = REPO_ROOT / "contracts" / "examples"
POLICY = REPO_ROOT / "services" / "consent" / "policy.toml"


def example(name: str, **data: Any) -> PlanRequest:
    """The request the event's workflow makes of the planner."""
    document = json.loads((EXAMPLES / name).read_text())
    document["data"].update(data)
    return plan_request(from_structured(document))


def steps(plan: Any) -> dict[str, str]:
    return {s.name: ("applies" if s.applies else s.reason) for s in plan.steps}


def test_a_household_with_a_child_moving_within_the_area_gets_every_step() -> None:
    plan = plan_for(example("address-changed-household.json"))
    assert steps(plan) == {
        "council-tax": "applies",
        "electoral-register": "applies",
        "school-admissions": "applies",
        "benefits": "applies",
    }
    [school] = [s for s in plan.active if s.name == "school-admissions"]
    assert school.confirm
    assert plan.catalogue_version == load_catalogue().version


def test_moving_out_of_the_area_offers_no_school_place() -> None:
    plan = plan_for(example("address-changed-out-of-area.json"))
    assert steps(plan)["school-admissions"] == "direction"
    assert steps(plan)["council-tax"] == "applies"


def test_adults_only_get_no_school_admission_step() -> None:
    household = json.loads((EXAMPLES / "address-changed-household.json").read_text())
    adults = [m for m in household["data"]["movers"] if m["date_of_birth"] < "2000-01-01"]
    plan = plan_for(example("address-changed-household.json", movers=adults))
    assert steps(plan)["school-admissions"] == "no_school_age_child"


def test_a_death_leaving_one_adult_who_chose_every_organisation_gets_every_step() -> None:
    plan = plan_for(example("death-registered.json"))
    assert set(steps(plan).values()) == {"applies"}
    assert [s.name for s in plan.steps if s.confirm] == ["council-tax-discount"]


def test_a_death_of_someone_alone_tells_only_whom_the_informant_chose() -> None:
    plan = plan_for(
        example(
            "death-registered.json",
            household_members=[],
            organisations_to_tell=["dwp", "council_tax"],
        )
    )
    assert steps(plan) == {
        "council-tax": "applies",
        "council-tax-discount": "adults_remaining",
        "benefits": "applies",
        "electoral-register": "applies",
        "blue-badge": "applies",
        "library-card": "applies",
        "parking-permit": "applies",
        "assisted-collection": "applies",
        "tell-dwp": "applies",
        "tell-hmrc": "not_chosen_by_informant",
        "tell-hm-passport-office": "not_chosen_by_informant",
        "tell-dvla": "not_chosen_by_informant",
    }


def test_two_adults_remaining_get_no_single_person_discount() -> None:
    spouse = {"name": {"given_names": "Madeup", "family_name": "Testworth"}}
    son = {
        "name": {"given_names": "Notreal", "family_name": "Testworth"},
        "date_of_birth": "1990-01-01",
    }
    plan = plan_for(example("death-registered.json", household_members=[spouse, son]))
    assert steps(plan)["council-tax-discount"] == "adults_remaining"


def test_every_step_is_allowed_by_the_sharing_policy() -> None:
    policy = tomllib.loads(POLICY.read_text())
    allowed = {(s["purpose"], s["recipient"]): set(s["categories"]) for s in policy["share"]}
    for step in load_catalogue().steps:
        key = (step.purpose, step.recipient or step.service)
        assert key in allowed, f"{step.name}: no policy share for {key}"
        assert set(step.categories) <= allowed[key], f"{step.name}: categories beyond policy"


def test_step_names_are_unique_per_event_type() -> None:
    catalogue = load_catalogue()
    for event_type in {s.event_type for s in catalogue.steps}:
        names = [s.name for s in catalogue.for_type(event_type)]
        assert len(names) == len(set(names))


runner = CliRunner()


def test_the_plan_command_prints_the_plan_and_no_personal_data() -> None:
    result = runner.invoke(app, ["plan", str(EXAMPLES / "address-changed-household.json")])
    assert result.exit_code == 0, result.output
    for name in ("council-tax", "electoral-register", "school-admissions", "benefits"):
        assert name in result.output
    assert "resident confirms first" in result.output
    for personal in ("Placeholder", "Pat", "1980-01-31", "AB2 4FG", "Fictitious"):
        assert personal not in result.output


def test_the_plan_command_shows_all_a_death_brings_and_no_personal_data(tmp_path: Path) -> None:
    document = json.loads((EXAMPLES / "death-registered.json").read_text())
    document["data"]["organisations_to_tell"] = ["hmrc"]
    path = tmp_path / "death.json"
    path.write_text(json.dumps(document))
    result = runner.invoke(app, ["plan", str(path)])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[1].strip().startswith("At once: the death is recorded")
    assert "partners to hmrc for tell-us-once" in result.output
    assert re.search(r"tell-dwp +does not apply: the informant did not choose", result.output)
    assert lines[-1].strip().startswith("Then one summary to the executor")
    for personal in ("Testworth", "Solicitorson", "1938-02-14", "AB4 6LN", "CE000000A"):
        assert personal not in result.output


def test_the_plan_command_shows_the_offers_of_a_birth_and_the_day_of_each_reminder() -> None:
    # The example's child is born on 1 September 2025: the first day of a school year.
    result = runner.invoke(app, ["plan", str(EXAMPLES / "birth-registered.json")])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    # Each step's heading ("  1. library-card  …"), then the line under it.
    day = {
        line.split()[1]: lines[i + 1].strip()
        for i, line in enumerate(lines)
        if re.match(r"  \d+\. ", line)
    }
    assert day["library-card"].startswith("receives: identity, birth")
    assert "library-card" in next(line for line in lines if "[resident confirms first]" in line)
    assert day["two-year-old-funding"] == "on 1 January 2028"
    assert day["three-year-old-entitlement"] == "on 1 January 2029"
    assert day["reception-window-opens"] == "on 1 September 2029"
    assert day["reception-window-closing"] == "on 1 January 2030"
    assert day["school-places-elsewhere"] == "only if: the family moves out of the council's area"
    for personal in ("Fictionalson", "2025-09-01", "1992-04-30", "AB1 2DF"):
        assert personal not in result.output


def test_the_plan_command_prints_json() -> None:
    result = runner.invoke(
        app, ["plan", "--json", str(EXAMPLES / "address-changed-out-of-area.json")]
    )
    assert result.exit_code == 0
    assert json.loads(result.output)["steps"][2]["reason"] == "direction"


@pytest.mark.parametrize(
    ("content", "message"),
    [("{not json", "not a valid life event"), ('{"type": "x.y.v1"}', "unknown life-event type")],
)
def test_the_plan_command_refuses_what_is_not_a_life_event(
    tmp_path: Path, content: str, message: str
) -> None:
    path = tmp_path / "event.json"
    path.write_text(content)
    result = runner.invoke(app, ["plan", str(path)])
    assert result.exit_code == 2
    assert message in result.output


SERVICES = (
    CouncilTaxActivities,
    ElectoralActivities,
    SchoolActivities,
    BenefitActivities,
    RegistersActivities,
    PartnerActivities,
)


@pytest.mark.parametrize("step", load_catalogue().steps, ids=lambda s: s.name)
def test_every_step_is_served_by_the_service_it_names(step: StepSpec) -> None:
    # The workflow calls the activity by name on the step's queue: some service must serve
    # exactly that name, there, for that purpose, or the step would wait forever.
    [service] = [s for s in SERVICES if step.activity in activity_names(s)]
    # Its task queue, and its name in the policy unless the step names another recipient
    # (an organisation outside the council, told through the partners service).
    assert step.service == (getattr(service, "recipient", None) or service.task_queue)
    assert step.purpose == purpose_of(service, step.activity)


def purpose_of(service: type, activity: str) -> str:
    """The purpose a service verifies an activity's tokens for: the service's `purpose`, or,
    for a service with a purpose per activity (the council registers), its `purposes` entry
    for that activity (none there: no purpose, and the step fails)."""
    purposes = getattr(service, "purposes", None)
    if purposes:
        return str(purposes.get(activity, "<none>"))
    return str(service.purpose)  # type: ignore[attr-defined]


def activity_names(service: type) -> set[str]:
    return {
        definition.name
        for member in vars(service).values()
        if (definition := getattr(member, "__temporal_activity_definition", None)) is not None
        and definition.name is not None
    }


@pytest.mark.parametrize(
    ("conditions", "facts", "reason"),
    [
        ({}, {}, ""),
        ({"direction": ["into", "within"]}, {"direction": "within"}, ""),
        ({"direction": ["into", "within"]}, {"direction": "out_of"}, "direction"),
        ({"direction": ["into"]}, {}, "direction"),
        ({"school_age_child": True}, {"school_age_child": True}, ""),
        ({"school_age_child": True}, {"school_age_child": False}, "no_school_age_child"),
        ({"school_age_child": True}, {}, "no_school_age_child"),
        ({"deceased_had_a_claim": False}, {"deceased_had_a_claim": True}, "deceased_had_a_claim"),
        # a code is not a yes, nor a yes a code
        ({"school_age_child": True}, {"school_age_child": "true"}, "no_school_age_child"),
        ({"direction": ["within"]}, {"direction": True}, "direction"),
    ],
)
def test_conditions_are_data_tested_against_the_facts_a_workflow_states(
    conditions: dict[str, Any], facts: dict[str, Any], reason: str
) -> None:
    assert unmet(conditions, facts) == reason


def test_a_step_naming_an_activity_its_service_does_not_serve_is_refused() -> None:
    spec = load_catalogue().steps[0].model_dump()
    with pytest.raises(ValueError, match="is not served by"):
        StepSpec.model_validate({**spec, "activity": "benefits.record_change_of_circumstances"})
