"""The report's small parts: durations, the soak's verdict on memory, /proc readings, the
table's ratios to the raw baselines. Nothing runs."""

from __future__ import annotations

import os

import pytest
import typer

from deploy.bench.command import duration
from deploy.bench.figures import Row, table
from deploy.bench.processes import Usage, cpu_seconds, rss_mib
from deploy.bench.results import flatness


@pytest.mark.parametrize(
    ("text", "seconds"), [("30m", 1800), ("90s", 90), ("1h", 3600), ("45", 45)]
)
def test_durations(text: str, seconds: float) -> None:
    assert duration(text) == seconds


def test_a_duration_that_is_not_one() -> None:
    with pytest.raises(typer.BadParameter):
        duration("half an hour")


def test_memory_is_flat_unless_the_last_third_grew() -> None:
    verdict = flatness(
        {
            "steady": Usage(rss=[100, 101, 99, 100, 102, 101]),
            "leaking": Usage(rss=[100, 110, 120, 130, 140, 150]),
        }
    )
    lines = {line.split(" | ")[0].strip("| "): line for line in verdict.splitlines()}
    assert lines["steady"].endswith("| yes |")
    assert lines["leaking"].endswith("| NO |")


def test_this_process_reads_from_proc() -> None:
    cpu, rss = cpu_seconds(os.getpid()), rss_mib(os.getpid())
    assert cpu is not None
    assert cpu > 0
    assert rss is not None
    assert rss > 1
    assert cpu_seconds(2**22 + 1) is None  # above any pid_max: no such process


def test_ratios_to_the_baseline() -> None:
    raw = Row("burst", "raw", 10, 4.0, [1.0, 1.0, 1.0])
    row = Row("burst", "real", 10, 2.0, [3.0, 3.0, 3.0], baseline=raw)
    [line] = [line for line in table([row]).splitlines() if "real" in line]
    assert "0.50x the rate" in line
    assert "3.0x p50" in line
