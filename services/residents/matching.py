"""The matching rule: who, in the index, is the person an event describes?

One pseudonymous key per person. Automation links a person to a resident only when the
evidence is unambiguous; when it is not, the match is *doubtful* and a caseworker decides
(`residents.resolve_doubtful`). Automation never picks among candidates.

Names are compared after Unicode NFC, case folding (`str.casefold`, then NFC again) and
whitespace collapsed to single spaces, so "  ÉLODIE  van der Beek" equals "élodie Van Der
beek"; nothing else makes names equal (no phonetics, no edit distance, no dropped
hyphens). A missing name part compares as the empty string. Every name a resident has been
matched under is kept, and all of them count.

The rule, in order (the first that applies decides; `rule` in the result names it):

1. **Identifiers.** The NHS and NI numbers given are looked up.
   - They point at two different residents → doubtful, `conflicting_identifiers`.
   - They point at exactly one resident → `matched` (`nhs_number` when the NHS number was
     found, else `ni_number`), *unless* the date of birth given differs from the resident's,
     or an identifier given differs from one of the same kind the resident already has →
     doubtful, `conflicting_identifiers`.
   - They point at nobody (or none was given) → rule 2.
2. **Name and date of birth.** Family name + given names + date of birth equal to exactly
   one resident's → `matched`, `name_and_date_of_birth`, unless that resident holds an NHS
   or NI number different from one given → doubtful, `conflicting_identifiers`.
3. **Doubtful** (a caseworker decides):
   - two or more residents match as in rule 2 → `several_candidates`;
   - with a date of birth given, the residents *similar* to the person: those whose full
     name matches but whose date of birth is not known, and those whose family name and
     date of birth match and whose given names differ but *could be one person's* (below),
     unless another person of the same request is that resident (*side by side*, below) →
     `name_without_date_of_birth` / `partial_name_match` for one such resident,
     `several_candidates` for two or more;
   - with no date of birth given: one resident with the same full name →
     `name_without_date_of_birth`, two or more → `several_candidates`.
4. **Nobody similar** → `created`, `no_candidate`: a new resident with a new key.

**Given names that could be one person's.** Folded as above, accents and apostrophes
dropped, then split into words at spaces and punctuation (full stops, hyphens, brackets). A
word could be another when one begins with the other (the same word, an initial, a short
form); two given names could be one person's when either has no word, or when every word of
one could be a word of the other: "Sam" and "Samuel", "A." and "Alex", "Grace" and "Ada
Grace" (known by a middle name), "Jane" and "Mary-Jane", "Grace Ada" and "Ada Grace", "Zoe"
and "Zoë", "Darcy" and "D'Arcy". Otherwise they clearly differ ("Ada" and "Bea", "Ada Grace"
and "Bea Grace", "Bob" and "Robert"): a family name and a date of birth are all that twins
share, so that resident is someone else and not similar. A resident's every recorded name
counts. This comparison never links anyone; it only tells a doubtful match from another
person. Where it is generous it costs a caseworker's look; where it is strict (a nickname
that is no short form, a misspelling, another script) the person becomes a second resident.

**Side by side.** The people of one request (one `match_people` call: the movers of one
move, a deceased and their household) are different people from each other, so a resident
who is another person of the same request is never a `partial_name_match` for this one.
Another person *is* a resident when rule 1 or 2 matched them to it — against the index as
the request found it, or as the request's earlier people left it — or when it was created
for them. Nothing else changes: the same person listed twice with the same details matches
the same resident (rules 1 and 2 decide before this), and a full name without a date of
birth beside the same full name with one is still `name_without_date_of_birth`.

A full-name match with a *different* known date of birth is a different person (rule 4).

What a match adds: identifiers given with a match (rules 1 and 2, or a caseworker's link)
are added to the resident's record, as are a date of birth, a name and contact details the
resident has no value for yet. Nothing is ever overwritten: an identifier or date of birth
that differs is rule 1's or rule 2's `conflicting_identifiers`; a different e-mail or phone is
left as it was (contact details change through the resident, not through events); a new
spelling of the name is added beside the old one.

This module is pure (no I/O): the store finds the candidates, `decide` applies the rule.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from datetime import date

from contracts.people import PersonName
from contracts.residents import MatchOutcome, MatchRule, PersonDetails

__all__ = [
    "NHS",
    "NI",
    "Candidate",
    "Decision",
    "could_be_one_persons",
    "decide",
    "identifiers_of",
    "name_key",
]

NHS = "nhs"
NI = "ni"


def _fold(value: str | None) -> str:
    if value is None:
        return ""
    folded = unicodedata.normalize("NFC", unicodedata.normalize("NFC", value).casefold())
    return " ".join(folded.split())


def name_key(name: PersonName) -> tuple[str, str]:
    """(given names, family name), folded for comparison."""
    return _fold(name.given_names), _fold(name.family_name)


_APOSTROPHES = frozenset("'\u2018\u2019\u02bc")


def _words(given_key: str) -> list[str]:
    """A folded given name's words, for `could_be_one_persons`: accents (combining marks)
    and apostrophes dropped, split at spaces and punctuation."""
    plain = unicodedata.normalize(
        "NFC",
        "".join(
            c
            for c in unicodedata.normalize("NFD", given_key)
            if unicodedata.category(c) != "Mn" and c not in _APOSTROPHES
        ),
    )
    spaced = "".join(" " if unicodedata.category(c)[0] in "PZ" else c for c in plain)
    return spaced.split()


def could_be_one_persons(given_key: str, other_key: str) -> bool:
    """Whether two folded given names could be the same person's (the module docstring)."""
    words, others = _words(given_key), _words(other_key)
    if not words or not others:
        return True

    def within(these: list[str], those: list[str]) -> bool:
        return all(any(t.startswith(w) or w.startswith(t) for t in those) for w in these)

    return within(words, others) or within(others, words)


def identifiers_of(person: PersonDetails) -> dict[str, str]:
    found: dict[str, str] = {}
    if person.nhs_number is not None:
        found[NHS] = person.nhs_number
    if person.national_insurance_number is not None:
        found[NI] = person.national_insurance_number
    return found


@dataclass(frozen=True)
class Candidate:
    """What the rule needs to know of a resident the store found."""

    key: str
    date_of_birth: date | None
    identifiers: dict[str, str] = field(default_factory=dict)
    names: frozenset[tuple[str, str]] = frozenset()


@dataclass(frozen=True)
class Decision:
    outcome: MatchOutcome
    rule: MatchRule
    resident: str | None = None
    candidates: tuple[str, ...] = ()


def _doubtful(rule: MatchRule, candidates: list[Candidate]) -> Decision:
    return Decision("doubtful", rule, None, tuple(sorted(c.key for c in candidates)))


def _conflicts(person: PersonDetails, given: dict[str, str], candidate: Candidate) -> bool:
    if (
        person.date_of_birth is not None
        and candidate.date_of_birth is not None
        and person.date_of_birth != candidate.date_of_birth
    ):
        return True
    return any(
        kind in candidate.identifiers and candidate.identifiers[kind] != value
        for kind, value in given.items()
    )


def decide(
    person: PersonDetails, candidates: list[Candidate], beside: frozenset[str] = frozenset()
) -> Decision:
    """Apply the rule to `person`, given at least every resident who can change the
    decision (the store's `candidates_for`: those holding one of the person's identifiers,
    with the same full name, or with the same family name and date of birth; any other
    resident changes nothing), and the residents the other people of the same request are
    (`beside`: side by side)."""
    given = identifiers_of(person)

    # 1. Identifiers.
    by_identifier = [
        c for c in candidates if any(c.identifiers.get(k) == v for k, v in given.items())
    ]
    if len(by_identifier) > 1:
        return _doubtful("conflicting_identifiers", by_identifier)
    if by_identifier:
        [resident] = by_identifier
        if _conflicts(person, given, resident):
            return _doubtful("conflicting_identifiers", by_identifier)
        by_nhs = NHS in given and resident.identifiers.get(NHS) == given[NHS]
        rule: MatchRule = "nhs_number" if by_nhs else "ni_number"
        return Decision("matched", rule, resident.key, (resident.key,))

    # 2. Family name + given names + date of birth.
    given_key, family_key = name_key(person.name)
    full_name = [c for c in candidates if (given_key, family_key) in c.names]
    if person.date_of_birth is None:
        # 3. A full name alone never decides.
        if len(full_name) > 1:
            return _doubtful("several_candidates", full_name)
        if full_name:
            return _doubtful("name_without_date_of_birth", full_name)
        return Decision("created", "no_candidate")

    exact = [c for c in full_name if c.date_of_birth == person.date_of_birth]
    if len(exact) > 1:
        return _doubtful("several_candidates", exact)
    if exact:
        [resident] = exact
        if _conflicts(person, given, resident):
            return _doubtful("conflicting_identifiers", exact)
        return Decision("matched", "name_and_date_of_birth", resident.key, (resident.key,))

    # 3. Similar, but not enough to decide.
    unknown_birth = [c for c in full_name if c.date_of_birth is None]
    partial = [
        c
        for c in candidates
        if c.date_of_birth == person.date_of_birth
        and c not in full_name
        and c.key not in beside
        and any(
            family == family_key and could_be_one_persons(given, given_key)
            for given, family in c.names
        )
    ]
    similar = unknown_birth + partial
    if len(similar) > 1:
        return _doubtful("several_candidates", similar)
    if unknown_birth:
        return _doubtful("name_without_date_of_birth", unknown_birth)
    if partial:
        return _doubtful("partial_name_match", partial)

    # 4. Nobody similar.
    return Decision("created", "no_candidate")
