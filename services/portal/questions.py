"""The questions a life event asks a resident, in plain English, by the step that asks.

A step asks when the service catalogue says it must be confirmed first (`confirm = true` in
`workflows/catalogue.toml`); while it waits, its timeline entry is `waiting_for_resident`,
and the resident's answer is the workflow's update `confirm` for that step. The catalogue's
`description` says what the step does, for caseworkers; these are the same offers put as a
question to the person who decides. A test holds this mapping to the catalogue, so a new
step that asks cannot ship without its question.

Step names are the catalogue's, unique among the steps that ask. The words are for B's pages
as they are: no personal data, nothing that depends on who reads them.
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ["FALLBACK_QUESTION", "QUESTIONS", "question_for"]

QUESTIONS: Mapping[str, str] = {
    # A move into or within the area, with a child of school age.
    "school-admissions": (
        "Would you like us to apply for a place at the catchment school for your new "
        "address, for each child of school age who is moving with you?"
    ),
    # A death that leaves one adult in the home.
    "council-tax-discount": (
        "You may now be the only adult living in your home. Would you like us to take 25% "
        "off your council tax bill (the single person discount) from the day after the death?"
    ),
    # A birth.
    "library-card": "Would you like a library card for your child?",
    "benefits-review": (
        "Would you like us to add your child to your housing benefit or council tax "
        "reduction claim, so that what you receive is worked out again from the birth?"
    ),
}

FALLBACK_QUESTION = "Would you like us to go ahead with this?"
"""For a step that asks but has no question here yet (a catalogue ahead of the portal)."""


def question_for(step: str) -> str:
    return QUESTIONS.get(step, FALLBACK_QUESTION)
