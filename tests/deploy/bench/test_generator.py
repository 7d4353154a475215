"""The generator's plans: the mix it is asked for, duplicates that are the same event or the
same fact from another source, invalid events that no contract accepts; and the report's
place in docs/benchmarks.md. Nothing runs."""

from __future__ import annotations

import json
import random
from collections import Counter
from pathlib import Path

import pytest

from contracts import ContractError, from_binary, from_structured
from deploy.bench.events import OTHER_SOURCE
from deploy.bench.figures import END, START, write_docs
from deploy.bench.generator import Counters, Mix, Outgoing, make_plan


def plan_of(count: int, **shares: float) -> list[Outgoing]:
    return make_plan(Mix(**shares), count, Counters(), random.Random(1)).outgoing


def test_the_mix_is_what_was_asked() -> None:
    outgoing = plan_of(2000, moves=0.5, deaths=0.3, births=0.2, duplicates=0.1, invalid=0.05)
    roles = Counter(o.role for o in outgoing)
    assert roles["invalid"] == pytest.approx(100, abs=30)
    assert roles["resent"] + roles["other_source"] == pytest.approx(200, abs=40)
    kinds = Counter(o.kind for o in outgoing if o.role == "original")
    new = sum(kinds.values())
    assert kinds["move"] / new == pytest.approx(0.5, abs=0.05)
    assert kinds["death"] / new == pytest.approx(0.3, abs=0.05)
    intake = sum(1 for o in outgoing if o.route == "intake")
    assert intake / len(outgoing) == pytest.approx(0.25, abs=0.05)


def test_every_new_event_is_about_new_residents() -> None:
    outgoing = plan_of(300)
    originals = [o for o in outgoing if o.role == "original"]
    assert len({(o.kind, o.index) for o in originals}) == len(originals)
    assert len({o.workflow_id for o in originals}) == len(originals)


def test_a_resent_event_is_the_same_event_and_starts_nothing_new() -> None:
    outgoing = plan_of(300, duplicates=0.3)
    originals = {o.event.id: o for o in outgoing if o.role == "original" and o.event}
    resent = [o for o in outgoing if o.role == "resent"]
    assert resent
    for o in resent:
        assert o.event is not None
        assert o.event.id in originals
        assert o.workflow_id is None


def test_the_same_fact_from_another_source_has_a_new_id() -> None:
    outgoing = plan_of(300, duplicates=0.3)
    originals = [o for o in outgoing if o.role == "original"]
    others = [o for o in outgoing if o.role == "other_source"]
    assert others
    for o in others:
        assert o.event is not None
        [first] = [f for f in originals if f.kind == o.kind and f.index == o.index]
        assert first.event is not None
        assert o.event.source == OTHER_SOURCE[o.event.type] != first.event.source
        assert o.event.id != first.event.id
        assert o.event.data == first.event.data
        assert o.workflow_id not in (None, first.workflow_id)


def test_invalid_events_are_refused_by_the_contracts() -> None:
    invalid = [o for o in plan_of(300, invalid=0.2) if o.role == "invalid"]
    assert invalid
    for o in invalid:
        assert o.workflow_id is None
        with pytest.raises(ContractError):
            from_binary(o.record())
        with pytest.raises(ContractError):
            from_structured(json.loads(o.document()))


def test_deaths_name_their_households() -> None:
    plan = make_plan(Mix(moves=0, deaths=1, births=0), 20, Counters(), random.Random(2))
    deaths = [o.index for o in plan.outgoing if o.kind == "death" and o.role == "original"]
    assert plan.households == deaths


def test_the_report_replaces_only_its_part_of_the_page(tmp_path: Path) -> None:
    page = tmp_path / "benchmarks.md"
    page.write_text(f"# Benchmarks\n\nintro\n\n{START}\nold figures\n{END}\n\n## Before\nkept\n")
    write_docs(page, "new figures")
    text = page.read_text()
    assert "old figures" not in text
    assert f"{START}\nnew figures\n{END}" in text
    assert text.startswith("# Benchmarks\n\nintro")
    assert text.endswith("## Before\nkept\n")
