"""The messages a birth sends, rendered from the references its steps return: each line kept
only when its references are given, codes put into words, nobody named, no field left
unfilled."""

from __future__ import annotations

import pytest

from services.notifications.templates import TEMPLATES, render

BIRTH_TEMPLATES = [
    "birth.library-card",
    "birth.early-years",
    "birth.benefits-review",
    "birth.early-education",
    "birth.reception-window-opens",
    "birth.reception-window-closing",
    "birth.moved-away",
]

CATCHMENT = {
    "district": "AB3",
    "primary_school": "Pretend Street Primary School",
    "primary_school_code": "SCH-1103",
    "secondary_school": "Made-Up Hill High School",
    "secondary_school_code": "SCH-2102",
    "reception_starts": "2027-09-01",
    "applications_close": "2027-01-15",
}


def test_every_birth_template_is_there() -> None:
    assert set(BIRTH_TEMPLATES) <= set(TEMPLATES)


@pytest.mark.parametrize(
    ("code", "references", "expected", "absent"),
    [
        (
            "birth.library-card",
            {"card": "LIB-3F9A20C1D4"},
            ["A library card for your child", "junior library card is LIB-3F9A20C1D4"],
            [],
        ),
        (
            "birth.early-years",
            {
                "family_information_service": "Exampletown Family Information Service",
                "two_year_old_funding_from": "2025-09-01",
                "three_year_old_entitlement_from": "2026-09-01",
                "reception_starts": "2027-09-01",
            },
            [
                "early years list",
                "Exampletown Family Information Service can tell you about childcare",
                "From 1 September 2025, your child can have 15 hours a week of funded early "
                "education if your family meets the criteria for two-year-olds.",
                "From 1 September 2026, your child can have 15 hours a week of funded early "
                "education, as every three-year-old can.",
                "reception class from 1 September 2027",
            ],
            [],
        ),
        (
            "birth.benefits-review",
            {
                "claims": "CTR-DEMO00001,HB-DEMO000001",
                "effective_from": "2025-03-10",
                "reassessment": "award_reassessed",
            },
            [
                "on claim CTR-DEMO00001,HB-DEMO000001 from 10 March 2025",
                "We will reassess your award from that date.",
            ],
            ["award_reassessed"],
        ),
        (
            "birth.early-education",
            {"entitlement": "two_year_old_funding", "from": "2025-09-01", "hours": "15"},
            [
                "From 1 September 2025, your child can have funded early education for "
                "two-year-olds (for families who meet the criteria): 15 hours a week",
            ],
            ["two_year_old_funding", "every three-year-old"],
        ),
        (
            "birth.early-education",
            {"entitlement": "three_year_old_entitlement", "from": "2026-09-01", "hours": "15"},
            [
                "From 1 September 2026, your child can have the funded early education every "
                "three-year-old is entitled to: 15 hours a week",
            ],
            ["three_year_old_entitlement", "two-year-olds"],
        ),
        (
            "birth.reception-window-opens",
            CATCHMENT,
            [
                "You can now apply for a reception class place",
                "Your catchment primary school is Pretend Street Primary School.",
                "Please apply by 15 January 2027",
            ],
            ["SCH-"],
        ),
        (
            "birth.reception-window-closing",
            CATCHMENT,
            [
                "Applications for reception class places close on 15 January 2027.",
                "Your catchment primary school is Pretend Street Primary School.",
            ],
            [],
        ),
        (
            "birth.reception-window-closing",
            {"applications_close": "2027-01-15"},  # no catchment school known
            ["close on 15 January 2027"],
            ["catchment"],
        ),
        (
            "birth.moved-away",
            {"council": "Caddenham District Council"},
            ["please ask Caddenham District Council about early education and a school place"],
            [],
        ),
        (
            "birth.moved-away",
            {"council": "unknown"},
            ["please ask the council for your new address about early education"],
            ["unknown"],
        ),
    ],
)
def test_birth_templates_keep_the_lines_their_references_fill(
    code: str, references: dict[str, str], expected: list[str], absent: list[str]
) -> None:
    message = render(code, references)
    text = f"{message.subject}\n{message.body}"
    for wanted in expected:
        assert wanted in text
    for unwanted in [*absent, "{", "}", "Sampleworth", "Poppy"]:
        assert unwanted not in text


@pytest.mark.parametrize("code", BIRTH_TEMPLATES)
def test_a_birth_template_without_references_leaves_no_field_unfilled(code: str) -> None:
    body = render(code, {}).body
    assert "{" not in body
    assert body.endswith("You can see what we did, and why, in your Life Events inbox.")
