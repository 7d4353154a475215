"""`lifeevents report`'s figures from known facts, checked against sums done by hand."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from deploy.report import (
    ActionTimes,
    Answer,
    LifeEventFacts,
    TakeUp,
    figures,
    render_json,
    render_table,
)

MOVE, BIRTH, DEATH = (
    "lifeevents.address.changed.v1",
    "lifeevents.birth.registered.v1",
    "lifeevents.death.registered.v1",
)
HOUR, DAY = timedelta(hours=1), timedelta(days=1)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def move(occurred: str, tax_after: timedelta, school: Answer, **more: timedelta) -> LifeEventFacts:
    when = at(occurred)
    actions = {"council_tax.record_move": when + tax_after}
    actions |= {name: when + after for name, after in more.items()}
    return LifeEventFacts(MOVE, when, actions, {"school-admissions": school})


FACTS = [
    # October's moves: council tax done 1, 3 and 5 days on (the last in November, still
    # counted in October, the month of the move); one accepted, one declined, one unanswered.
    move("2025-10-01T00:00", 1 * DAY, Answer.ACCEPTED, **{"notifications.send": 2 * HOUR}),
    move("2025-10-10T12:00", 3 * DAY, Answer.DECLINED),
    move("2025-10-31T23:00", 5 * DAY, Answer.NO_ANSWER),
    # November's one move, its offer still open.
    move("2025-11-02T09:00", 2 * DAY, Answer.WAITING),
    LifeEventFacts(
        BIRTH,
        at("2025-10-05T08:00"),
        {"registers.issue_library_card": at("2025-10-05T12:00")},
        {"early-education": Answer.ACCEPTED, "library-card": Answer.ACCEPTED},
    ),
    # Ten deaths in December, council tax told 1 to 10 hours on: the median is between the
    # 5th and 6th (5.5 h), the 90th percentile the 9th by nearest rank (9 h), not the last.
    *(
        LifeEventFacts(
            DEATH,
            at(f"2025-12-{day:02d}T10:00"),
            {"council_tax.record_death": at(f"2025-12-{day:02d}T10:00") + day * HOUR},
        )
        for day in range(1, 11)
    ),
]


def test_time_to_each_action_by_event_type_and_month() -> None:
    # In order of event type (address < birth < death), month and action.
    assert figures(FACTS).actions == [
        ActionTimes(MOVE, "2025-10", "council_tax.record_move", 3, 3 * 86400, 5 * 86400),
        ActionTimes(MOVE, "2025-10", "notifications.send", 1, 2 * 3600, 2 * 3600),
        ActionTimes(MOVE, "2025-11", "council_tax.record_move", 1, 2 * 86400, 2 * 86400),
        ActionTimes(BIRTH, "2025-10", "registers.issue_library_card", 1, 4 * 3600, 4 * 3600),
        ActionTimes(DEATH, "2025-12", "council_tax.record_death", 10, 5.5 * 3600, 9 * 3600),
    ]


def test_take_up_of_offers_by_event_type_and_month() -> None:
    take_up = figures(FACTS).take_up
    assert take_up == [
        TakeUp(MOVE, "2025-10", offered=3, accepted=1, declined=1, no_answer=1, waiting=0),
        TakeUp(MOVE, "2025-11", offered=1, accepted=0, declined=0, no_answer=0, waiting=1),
        TakeUp(BIRTH, "2025-10", offered=2, accepted=2, declined=0, no_answer=0, waiting=0),
    ]
    # Of the offers settled: a third of October's moves, none yet in November (an open offer
    # is not counted against take-up), all of the births'.
    assert [t.take_up for t in take_up] == [1 / 3, None, 1.0]


TABLE = """\
Time from the life event to each action
event type                      month    action                        events  median  p90
lifeevents.address.changed.v1   2025-10  council_tax.record_move       3       3.0 d   5.0 d
lifeevents.address.changed.v1   2025-10  notifications.send            1       2.0 h   2.0 h
lifeevents.address.changed.v1   2025-11  council_tax.record_move       1       2.0 d   2.0 d
lifeevents.birth.registered.v1  2025-10  registers.issue_library_card  1       4.0 h   4.0 h
lifeevents.death.registered.v1  2025-12  council_tax.record_death      10      5.5 h   9.0 h

Take-up of offers
event type                      month    offered  accepted  declined  no answer  waiting  take-up
lifeevents.address.changed.v1   2025-10  3        1         1         1          0        33%
lifeevents.address.changed.v1   2025-11  1        0         0         0          1        -
lifeevents.birth.registered.v1  2025-10  2        2         0         0          0        100%"""


def test_the_table_and_the_json_say_the_same() -> None:
    report = figures(FACTS)
    assert render_table(report) == TABLE
    document = json.loads(render_json(report))
    assert document["actions"][4] == {
        "event_type": DEATH,
        "month": "2025-12",
        "action": "council_tax.record_death",
        "events": 10,
        "median_seconds": 19800.0,
        "p90_seconds": 32400.0,
    }
    assert [t["take_up"] for t in document["take_up"]] == [1 / 3, None, 1.0]
