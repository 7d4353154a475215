"""partners.toml: the organisations it configures are the ones the catalogue tells and the
policy lets through, each on the topic `contracts.topics` names; a configuration that would
tell an organisation something unagreed, or mix two organisations' notices, does not load."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from contracts.topics import PARTNER_TOPICS
from services.partners.config import DEFAULT_CONFIG_PATH, PartnersConfigError, load_partners
from tests.support import REPO_ROOT

GOOD = """
source = "/lifeevents/tell-us-once"

[organisations.dwp]
topic = "lifeevents.partner.dwp.v1"
fields = ["name", "date_of_death", "national_insurance_number"]
"""


def test_the_shipped_configuration_names_the_contracts_topics() -> None:
    config = load_partners()
    assert {code: told.topic for code, told in config.organisations.items()} == dict(PARTNER_TOPICS)


def test_it_configures_what_the_catalogue_tells_and_the_policy_allows() -> None:
    # Read as files: the catalogue and the policy belong to other packages.
    catalogue = tomllib.loads((REPO_ROOT / "workflows" / "catalogue.toml").read_text("utf-8"))
    policy = tomllib.loads((REPO_ROOT / "services" / "consent" / "policy.toml").read_text("utf-8"))
    told = {s["recipient"] for s in catalogue["step"] if s["service"] == "partners"}
    allowed = {s["recipient"] for s in policy["share"] if s["purpose"] == "tell-us-once"}
    assert set(load_partners().organisations) == told == allowed


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (('"national_insurance_number"]', '"nhs_number"]'), "organisations.dwp.fields"),
        (('"name", ', ""), "every notice carries name"),
        (('"date_of_death", ', ""), "every notice carries date_of_death"),
        (('"national_insurance_number"]', '"national_insurance_number", "name"]'), "twice"),
        (("organisations.dwp", "organisations.job_centre"), "organisations.job_centre"),
        (('topic = "lifeevents.partner.dwp.v1"', 'topic = "a topic"'), "topic"),
        (('source = "/lifeevents/tell-us-once"', ""), "source"),
        (("fields", "feilds"), "feilds"),
    ],
)
def test_a_configuration_that_breaks_a_rule_does_not_load(
    tmp_path: Path, change: tuple[str, str], problem: str
) -> None:
    path = tmp_path / "partners.toml"
    path.write_text(GOOD.replace(*change), encoding="utf-8")
    with pytest.raises(PartnersConfigError) as refused:
        load_partners(path)
    assert problem in str(refused.value)


def test_a_good_configuration_loads(tmp_path: Path) -> None:
    path = tmp_path / "partners.toml"
    path.write_text(GOOD, encoding="utf-8")
    config = load_partners(path)
    assert config.organisations["dwp"].fields == (
        "name",
        "date_of_death",
        "national_insurance_number",
    )
    assert config.topics == ["lifeevents.partner.dwp.v1"]


def test_two_organisations_never_share_a_topic(tmp_path: Path) -> None:
    path = tmp_path / "partners.toml"
    path.write_text(
        GOOD + GOOD.split("\n", 3)[3].replace("organisations.dwp", "organisations.hmrc"),
        encoding="utf-8",
    )
    with pytest.raises(PartnersConfigError, match="two organisations share a topic"):
        load_partners(path)


def test_a_missing_or_broken_file_is_said_so(tmp_path: Path) -> None:
    with pytest.raises(PartnersConfigError, match="cannot be read"):
        load_partners(tmp_path / "absent.toml")
    broken = tmp_path / "broken.toml"
    broken.write_text("[organisations.dwp\n", encoding="utf-8")
    with pytest.raises(PartnersConfigError, match="not TOML"):
        load_partners(broken)


def test_the_default_is_the_file_next_to_the_service() -> None:
    assert DEFAULT_CONFIG_PATH == REPO_ROOT / "services" / "partners" / "partners.toml"
