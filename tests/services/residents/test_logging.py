"""Matching logs outcomes, rule codes, counts and pseudonymous keys: never a name, a date of
birth, an identifier, a contact detail or an address."""

from __future__ import annotations

import io
import json
from datetime import date

from contracts.residents import CaseworkerDecision, MoveRecord, SupportFlag
from services.residents.index import ResidentIndex
from services.residents.seed import seed_demo
from tests.services.residents.support import NHS_A, NI_A, address, person

SECRETS = (
    # ours
    "Xanthippe",
    "Quorndon",
    "Ευδοκία",
    "ευδοκία",
    "1961-07-19",
    NHS_A,
    NI_A,
    "xanthippe@example.org",
    "Imaginary Street",
    "AB1 2DE",
    # from contracts/examples, via the seed
    "Fictionalson",
    "Testworth",
    "Placeholder",
    "Nonesuch",
    "Примерова",
    "テスト",
    "9990000034",
    "CE000000A",
    "AB123456C",
    "1938-02-14",
    "pat.placeholder@example.org",
    "+442079460007",
    "Hypothetical Road",
)


async def test_nothing_personal_is_logged_while_matching(
    index: ResidentIndex, output: io.StringIO
) -> None:
    born = date(1961, 7, 19)
    someone = person(
        "Xanthippe Ευδοκία",
        "Quorndon",
        born,
        nhs=NHS_A,
        ni=NI_A,
        email="xanthippe@example.org",
        address=address(3),
    )
    [created] = await index.match_people([someone])
    await index.match_people([someone])  # matched
    await index.match_people([person("ΕΥΔΟΚΊΑ", "Quorndon", born)])  # doubtful: a middle name
    assert created.resident is not None
    await index.record_move(
        MoveRecord(
            residents=(created.resident,),
            new_address=address(4),
            move_date=date(2026, 3, 1),
            direction="within",
            workflow_id="wf-log",
            step="move",
        )
    )
    await index.flag_support(
        SupportFlag(resident=created.resident, reason="bereaved", workflow_id="wf-log", step="s")
    )
    await index.resolve_doubtful(
        CaseworkerDecision(
            person=person("ΕΥΔΟΚΊΑ", "Quorndon", born),
            decision="create",
            workflow_id="wf-log",
            step="resolve",
        )
    )
    await seed_demo(index)
    await seed_demo(index)  # doubtful matches too

    lines = [json.loads(line) for line in output.getvalue().splitlines()]
    # As decoded, so that a name in another script is found even if the JSON escaped it.
    text = "\n".join(json.dumps(line, ensure_ascii=False) for line in lines)
    events = {line["event"] for line in lines}
    assert {
        "residents.match_decided",
        "residents.moved",
        "residents.flagged",
        "residents.doubtful_resolved",
    } <= events
    assert any(line.get("outcome") == "doubtful" for line in lines)
    assert created.resident in text  # the pseudonymous key is what ops see
    for secret in SECRETS:
        assert secret not in text, secret
