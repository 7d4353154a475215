"""Each clause of the matching rule (services/residents/matching.py), on a real store."""

from __future__ import annotations

import asyncio
from datetime import date

import pytest

from contracts.residents import CaseworkerDecision, MatchResult, PersonDetails
from services.residents.index import MatchRequest, ResidentIndex, open_index
from tests.services.residents.support import NHS_A, NHS_B, NHS_C, NI_A, NI_B, address, person

BORN = date(1984, 5, 17)
OTHER_BIRTH = date(1990, 1, 2)


async def match(index: ResidentIndex, who: PersonDetails) -> MatchResult:
    [result] = await index.match_people([who])
    return result


async def create(index: ResidentIndex, who: PersonDetails) -> str:
    result = await match(index, who)
    assert result.outcome == "created"
    assert result.resident is not None
    return result.resident


# --- 4. nobody similar ---------------------------------------------------------------------


async def test_a_new_person_gets_a_new_pseudonymous_key(index: ResidentIndex) -> None:
    result = await match(index, person("Quilla", "Marrowby", BORN, nhs=NHS_A))
    assert (result.outcome, result.rule, result.candidates) == ("created", "no_candidate", 0)
    assert result.resident is not None
    assert result.resident.startswith("res_")
    assert len(result.resident) >= 20
    other = await create(index, person("Tamsin", "Orrery", BORN))
    assert other != result.resident


async def test_same_full_name_with_another_date_of_birth_is_another_person(
    index: ResidentIndex,
) -> None:
    first = await create(index, person("Quilla", "Marrowby", BORN))
    second = await match(index, person("Quilla", "Marrowby", OTHER_BIRTH))
    assert (second.outcome, second.rule) == ("created", "no_candidate")
    assert second.resident != first


# --- 1. identifiers ------------------------------------------------------------------------


async def test_nhs_number_matches_even_under_another_name(index: ResidentIndex) -> None:
    key = await create(index, person("Quilla", "Marrowby", BORN, nhs=NHS_A))
    result = await match(index, person("Quilla", "Fenwright-Marrowby", nhs=NHS_A))
    assert (result.outcome, result.rule, result.resident) == ("matched", "nhs_number", key)
    # The new name is kept beside the old one: it now matches on name and birth too.
    again = await match(index, person("Quilla", "Fenwright-Marrowby", BORN))
    assert (again.rule, again.resident) == ("name_and_date_of_birth", key)


async def test_ni_number_matches(index: ResidentIndex) -> None:
    key = await create(index, person(None, "Marrowby", ni=NI_A))
    result = await match(index, person("Q.", "Marrowby", ni="ab 10 00 01 a"))
    assert (result.outcome, result.rule, result.resident) == ("matched", "ni_number", key)


async def test_identifier_with_a_conflicting_date_of_birth_is_doubtful(
    index: ResidentIndex,
) -> None:
    key = await create(index, person("Quilla", "Marrowby", BORN, nhs=NHS_A))
    result = await match(index, person("Quilla", "Marrowby", OTHER_BIRTH, nhs=NHS_A))
    assert (result.outcome, result.rule, result.resident) == (
        "doubtful",
        "conflicting_identifiers",
        None,
    )
    assert (result.candidates, result.candidate_keys) == (1, (key,))


async def test_identifiers_of_two_residents_for_one_person_is_doubtful(
    index: ResidentIndex,
) -> None:
    first = await create(index, person("Quilla", "Marrowby", nhs=NHS_A))
    second = await create(index, person("Tamsin", "Orrery", ni=NI_A))
    result = await match(index, person("Quilla", "Marrowby", nhs=NHS_A, ni=NI_A))
    assert (result.outcome, result.rule, result.candidates) == (
        "doubtful",
        "conflicting_identifiers",
        2,
    )
    assert set(result.candidate_keys) == {first, second}


async def test_an_identifier_differing_from_the_residents_own_is_doubtful(
    index: ResidentIndex,
) -> None:
    await create(index, person("Quilla", "Marrowby", nhs=NHS_A, ni=NI_A))
    result = await match(index, person("Quilla", "Marrowby", nhs=NHS_A, ni=NI_B))
    assert (result.outcome, result.rule) == ("doubtful", "conflicting_identifiers")


# --- 2. name and date of birth -------------------------------------------------------------


@pytest.mark.parametrize(
    ("recorded", "given"),
    [
        (("Quilla Jane", "Marrowby"), ("  QUILLA   jane ", "marrowby ")),
        (("Zoë", "Brontë-Ashcombe"), ("Zoe\u0308", "BRONTE\u0308-ASHCOMBE")),  # NFD vs NFC
        (("Νίκος", "Παπαδόπουλος"), ("ΝΊΚΟΣ", "ΠΑΠΑΔΌΠΟΥΛΟΣ")),  # final sigma folds
        (("فاطمة", "الزهراء"), ("فاطمة", "  الزهراء")),
        (("小明", "王"), ("小明", "王")),
        (("Straße", "Groß"), ("STRASSE", "GROSS")),
    ],
    ids=["latin", "nfd", "greek", "arabic", "chinese", "sharp-s"],
)
async def test_names_compare_after_nfc_casefold_and_whitespace(
    index: ResidentIndex, recorded: tuple[str, str], given: tuple[str, str]
) -> None:
    key = await create(index, person(*recorded, BORN))
    result = await match(index, person(*given, BORN))
    assert (result.outcome, result.rule, result.resident) == (
        "matched",
        "name_and_date_of_birth",
        key,
    )


async def test_a_name_match_adds_the_identifiers_given(index: ResidentIndex) -> None:
    key = await create(index, person("Quilla", "Marrowby", BORN))
    first = await match(index, person("Quilla", "Marrowby", BORN, nhs=NHS_A))
    assert (first.rule, first.resident) == ("name_and_date_of_birth", key)
    by_nhs = await match(index, person("Someone", "Else", nhs=NHS_A))
    assert (by_nhs.rule, by_nhs.resident) == ("nhs_number", key)


async def test_a_name_match_with_a_different_identifier_is_doubtful(index: ResidentIndex) -> None:
    key = await create(index, person("Quilla", "Marrowby", BORN, nhs=NHS_A))
    result = await match(index, person("Quilla", "Marrowby", BORN, nhs=NHS_B))
    assert (result.outcome, result.rule, result.candidate_keys) == (
        "doubtful",
        "conflicting_identifiers",
        (key,),
    )
    # Nothing was overwritten: the resident still has only their own NHS number.
    assert (await match(index, person("Ottoline", "Pemberton", nhs=NHS_A))).resident == key
    assert (await match(index, person("Ottoline", "Quarry", nhs=NHS_B))).outcome == "created"


async def test_what_a_match_adds_and_what_it_never_replaces(index: ResidentIndex) -> None:
    key = await create(index, person("Quilla", "Marrowby", nhs=NHS_A, email="q@example.org"))
    await match(
        index,
        person(
            "Quilla",
            "Marrowby",
            BORN,
            nhs=NHS_A,
            email="other@example.org",
            phone="+442079460999",
            address=address(4),
        ),
    )
    resident = await index.resident(key)
    assert resident is not None
    assert resident.contact is not None
    assert resident.contact.email == "q@example.org"  # kept
    assert resident.contact.phone == "+442079460999"  # added
    assert resident.address == address(4)  # none was known
    # The date of birth is now known, so a different one conflicts.
    conflict = await match(index, person("Quilla", "Marrowby", OTHER_BIRTH, nhs=NHS_A))
    assert conflict.rule == "conflicting_identifiers"


# --- 3. doubtful: a caseworker decides -----------------------------------------------------


async def test_two_residents_with_the_same_name_and_birth_are_never_auto_picked(
    index: ResidentIndex,
) -> None:
    first = await create(index, person("Quilla", "Marrowby", BORN, nhs=NHS_A))
    doubtful = await match(index, person("Quilla", "Marrowby", BORN, nhs=NHS_B))
    assert doubtful.rule == "conflicting_identifiers"
    # The caseworker says: a different person (it happens: same name, same birthday).
    second = await index.resolve_doubtful(
        CaseworkerDecision(
            person=person("Quilla", "Marrowby", BORN, nhs=NHS_B),
            decision="create",
            workflow_id="wf-1",
            step="resolve",
        )
    )
    assert (second.outcome, second.rule) == ("created", "caseworker_created")
    result = await match(index, person("quilla", "MARROWBY", BORN))
    assert (result.outcome, result.rule, result.candidates) == (
        "doubtful",
        "several_candidates",
        2,
    )
    assert set(result.candidate_keys) == {first, second.resident}
    # Identifiers still tell them apart.
    assert (await match(index, person("Quilla", "Marrowby", BORN, nhs=NHS_B))).resident == (
        second.resident
    )


async def test_family_name_and_birth_with_other_given_names_is_doubtful(
    index: ResidentIndex,
) -> None:
    key = await create(index, person("Quilla", "Marrowby", BORN))
    result = await match(index, person("Quillan", "Marrowby", BORN))
    assert (result.outcome, result.rule, result.candidate_keys) == (
        "doubtful",
        "partial_name_match",
        (key,),
    )


async def test_a_full_name_without_a_date_of_birth_is_doubtful(index: ResidentIndex) -> None:
    key = await create(index, person("Quilla", "Marrowby", BORN))
    result = await match(index, person("Quilla", "Marrowby"))
    assert (result.outcome, result.rule, result.candidate_keys) == (
        "doubtful",
        "name_without_date_of_birth",
        (key,),
    )


async def test_a_full_name_when_the_resident_has_no_date_of_birth_is_doubtful(
    index: ResidentIndex,
) -> None:
    await create(index, person("Quilla", "Marrowby"))
    result = await match(index, person("Quilla", "Marrowby", BORN))
    assert (result.outcome, result.rule) == ("doubtful", "name_without_date_of_birth")


async def test_a_full_name_without_birth_and_two_namesakes_is_several_candidates(
    index: ResidentIndex,
) -> None:
    await create(index, person("Quilla", "Marrowby", BORN))
    await create(index, person("Quilla", "Marrowby", OTHER_BIRTH))
    result = await match(index, person("Quilla", "Marrowby"))
    assert (result.outcome, result.rule, result.candidates) == (
        "doubtful",
        "several_candidates",
        2,
    )


async def test_a_caseworker_links_a_doubtful_person_once(index: ResidentIndex) -> None:
    key = await create(index, person("Quilla", "Marrowby", BORN))
    someone = person("Quilla", "Marrowby", nhs=NHS_C)
    assert (await match(index, someone)).outcome == "doubtful"
    decision = CaseworkerDecision(
        person=someone, decision="link", resident=key, workflow_id="wf-2", step="resolve"
    )
    linked = await index.resolve_doubtful(decision)
    assert (linked.outcome, linked.rule, linked.resident) == ("matched", "caseworker_linked", key)
    assert await index.resolve_doubtful(decision) == linked
    # The identifier came with the link: from now on, the person matches without doubt.
    assert (await match(index, someone)).resident == key


async def test_a_repeated_caseworker_create_makes_one_resident(index: ResidentIndex) -> None:
    decision = CaseworkerDecision(
        person=person("Quilla", "Marrowby"), decision="create", workflow_id="wf-3", step="r"
    )
    first = await index.resolve_doubtful(decision)
    assert await index.resolve_doubtful(decision) == first
    assert await index.keys() == [first.resident]


# --- twins, and people side by side in one event ----------------------------------------

TWINS_BORN = date(2015, 3, 1)
ADA = person("Ada", "Twinning", TWINS_BORN)
BEA = person("Bea", "Twinning", TWINS_BORN)


async def test_twins_in_one_event_are_two_new_residents(index: ResidentIndex) -> None:
    ada, bea = await index.match_people([ADA, BEA])
    assert (ada.outcome, ada.rule) == ("created", "no_candidate")
    assert (bea.outcome, bea.rule) == ("created", "no_candidate")
    assert ada.resident != bea.resident
    assert len(await index.keys()) == 2


async def test_twins_who_move_again_each_match_themselves(index: ResidentIndex) -> None:
    first, second = await index.match_people([ADA, BEA])  # e.g. a move that created them
    for listed in ([ADA, BEA], [BEA, ADA]):  # a later move, in either order
        results = await index.match_people(listed)
        assert [(r.outcome, r.rule) for r in results] == [("matched", "name_and_date_of_birth")] * 2
        assert [r.resident for r in results] == [
            first.resident if who is ADA else second.resident for who in listed
        ]
    assert len(await index.keys()) == 2


async def test_a_twin_arriving_after_the_other_is_a_new_resident(index: ResidentIndex) -> None:
    ada = await create(index, ADA)
    bea = await match(index, BEA)
    assert (bea.outcome, bea.rule, bea.candidates) == ("created", "no_candidate", 0)
    assert bea.resident != ada
    assert (await match(index, ADA)).resident == ada
    assert (await match(index, BEA)).resident == bea.resident


async def test_a_known_twin_and_a_new_one_in_one_event(index: ResidentIndex) -> None:
    ada = await create(index, ADA)
    bea, ada_again = await index.match_people([BEA, ADA])  # the new twin listed first
    assert (bea.outcome, bea.rule) == ("created", "no_candidate")
    assert (ada_again.outcome, ada_again.resident) == ("matched", ada)
    assert bea.resident != ada


async def test_people_side_by_side_are_different_people_even_when_names_could_agree(
    index: ResidentIndex,
) -> None:
    born = date(1983, 4, 5)
    # Alone, 'Samuel' is a doubtful match for a known 'Sam' (see below); listed beside
    # 'Sam', who is that resident, the event itself says they are two people.
    sam = await create(index, person("Sam", "Placeholder", born))
    samuel, sam_again = await index.match_people(
        [person("Samuel", "Placeholder", born), person("Sam", "Placeholder", born)]
    )
    assert (samuel.outcome, samuel.rule) == ("created", "no_candidate")
    assert (sam_again.outcome, sam_again.resident) == ("matched", sam)
    # Both new, in one event: two residents.
    alex, initial = await index.match_people(
        [person("Alex", "Hypothetical", born), person("A.", "Hypothetical", born)]
    )
    assert (alex.outcome, initial.outcome) == ("created", "created")
    assert alex.resident != initial.resident


@pytest.mark.parametrize(
    ("recorded", "given"),
    [
        ("Samuel", "Sam"),  # a short form
        ("Sam", "Samuel"),
        ("Alex", "A."),  # an initial
        ("Ada Grace", "Grace"),  # known by a middle name
        ("Ada", "Ada Grace"),  # a middle name added
        ("Mary-Jane", "Jane"),  # one part of a hyphenated name
        ("Ada Grace", "Grace Ada"),  # the same names in another order
        ("Zoë", "Zoe"),  # an accent dropped
        ("D'Arcy", "Darcy"),  # an apostrophe dropped
        ("Robert (Bob)", "Bob"),
        ("Ada", None),  # no given name to compare
        (None, "Ada"),
    ],
)
async def test_given_names_that_could_be_one_persons_are_doubtful(
    index: ResidentIndex, recorded: str | None, given: str | None
) -> None:
    born = date(1983, 4, 5)
    key = await create(index, person(recorded, "Placeholder", born))
    result = await match(index, person(given, "Placeholder", born))
    assert (result.outcome, result.rule, result.candidate_keys) == (
        "doubtful",
        "partial_name_match",
        (key,),
    )


@pytest.mark.parametrize(
    ("recorded", "given"),
    [
        ("Ada", "Bea"),
        ("Ada Grace", "Bea Grace"),  # twins sharing a middle name
        ("Samuel", "Simon"),
        ("Robert", "Bob"),  # a nickname that is no short form: not known
        ("Ada Grace", "Bea"),
    ],
)
async def test_given_names_that_clearly_differ_are_another_person(
    index: ResidentIndex, recorded: str, given: str
) -> None:
    born = date(1983, 4, 5)
    key = await create(index, person(recorded, "Placeholder", born))
    result = await match(index, person(given, "Placeholder", born))
    assert (result.outcome, result.rule) == ("created", "no_candidate")
    assert result.resident != key


async def test_a_partial_match_beside_a_clearly_different_twin_stays_doubtful(
    index: ResidentIndex,
) -> None:
    samuel = await create(index, person("Samuel", "Twinning", TWINS_BORN))
    sam, bea = await index.match_people([person("Sam", "Twinning", TWINS_BORN), BEA])
    assert (sam.outcome, sam.rule, sam.candidate_keys) == (
        "doubtful",
        "partial_name_match",
        (samuel,),
    )
    assert (bea.outcome, bea.rule) == ("created", "no_candidate")


async def test_conflicts_and_namesakes_stay_doubtful_beside_a_twin(index: ResidentIndex) -> None:
    ada = await create(index, person("Ada", "Twinning", TWINS_BORN, nhs=NHS_A))
    conflicting, bea = await index.match_people(
        [person("Ada", "Twinning", TWINS_BORN, nhs=NHS_B), BEA]
    )
    assert (conflicting.outcome, conflicting.rule, conflicting.candidate_keys) == (
        "doubtful",
        "conflicting_identifiers",
        (ada,),
    )
    assert (bea.outcome, bea.rule) == ("created", "no_candidate")
    # A caseworker made a second Ada (same name, same birthday): a third Ada is never picked.
    await index.resolve_doubtful(
        CaseworkerDecision(
            person=person("Ada", "Twinning", TWINS_BORN, nhs=NHS_B),
            decision="create",
            workflow_id="wf-twins",
            step="resolve",
        )
    )
    namesake, bea_again = await index.match_people([person("ada", "TWINNING", TWINS_BORN), BEA])
    assert (namesake.outcome, namesake.rule, namesake.candidates) == (
        "doubtful",
        "several_candidates",
        2,
    )
    assert (bea_again.outcome, bea_again.resident) == ("matched", bea.resident)


# --- idempotency ---------------------------------------------------------------------------


async def test_matching_the_same_person_twice_gives_the_same_key(index: ResidentIndex) -> None:
    someone = person("Quilla", "Marrowby", BORN, email="q@example.org")
    first = await match(index, someone)
    second = await match(index, someone)
    assert first.outcome == "created"
    assert (second.outcome, second.resident) == ("matched", first.resident)
    # Twice in one request (a parent who is also the informant): the second matches the first.
    both = await index.match_people([person("Tamsin", "Orrery", BORN)] * 2)
    assert [r.outcome for r in both] == ["created", "matched"]
    assert both[0].resident == both[1].resident


async def test_a_repeated_request_returns_its_first_answer(index: ResidentIndex) -> None:
    # By name alone, a second *new* request is doubtful; a repeat of the *same* request
    # (a retried activity) must still answer "created", with the same key.
    someone = person(None, "Nonesuch")
    run_1 = MatchRequest(key="run-1/activity-1", workflow_id="wf", step="1")
    run_2 = MatchRequest(key="run-2/activity-1", workflow_id="wf", step="1")
    [first] = await index.match_people([someone], request=run_1)
    [repeat] = await index.match_people([someone], request=run_1)
    [other] = await index.match_people([someone], request=run_2)
    assert first.outcome == "created"
    assert repeat == first
    assert (other.outcome, other.rule) == ("doubtful", "name_without_date_of_birth")
    assert len(await index.keys()) == 1


async def test_concurrent_matches_of_one_new_person_create_one_resident(
    database_url: str,
) -> None:
    # Two processes' worth of stores (own engines and pools) on one database, many
    # matches at once: the serialised write transaction lets exactly one create.
    indexes = [await open_index(database_url) for _ in range(3)]
    try:
        someone = person("Quilla", "Marrowby", BORN)
        results = await asyncio.gather(
            *(ix.match_people([someone]) for ix in indexes for _ in range(4))
        )
        outcomes = [r.outcome for [r] in results]
        assert outcomes.count("created") == 1
        assert outcomes.count("matched") == len(outcomes) - 1
        assert len({r.resident for [r] in results}) == 1
        assert len(await indexes[0].keys()) == 1
    finally:
        for ix in indexes:
            await ix.store.close()
