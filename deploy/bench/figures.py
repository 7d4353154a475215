"""The figures of a run as one Markdown table (and each process's CPU and memory), the
versions and the machine they were measured on, and docs/benchmarks.md kept up to date."""

from __future__ import annotations

import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path

from deploy.bench.processes import Usage

__all__ = ["Row", "environment", "latencies", "processes_table", "table", "write_docs"]

START, END = "<!-- lifeevents bench: start -->", "<!-- lifeevents bench: end -->"


def percentile(values: Sequence[float], p: int) -> float:
    ordered = sorted(values)
    if len(ordered) < 2:
        return ordered[0]
    return statistics.quantiles(ordered, n=100, method="inclusive")[p - 1]


def latencies(starts: dict[str, float], ends: dict[str, float]) -> list[float]:
    return [ends[key] - start for key, start in starts.items() if key in ends]


@dataclass
class Row:
    phase: str
    what: str
    count: int
    rate: float | None  # per second
    latency: list[float]  # seconds
    baseline: Row | None = None  # the raw figure this one is compared with

    def cells(self) -> list[str]:
        rate = f"{self.rate:.2f}" if self.rate else ""
        if self.latency:
            spread = [percentile(self.latency, p) for p in (50, 95, 99)] + [max(self.latency)]
            times = [f"{t:.3f}" if t < 1 else f"{t:.2f}" for t in spread]
        else:
            times = [""] * 4
        return [self.phase, self.what, str(self.count), rate, *times, self._ratio()]

    def _ratio(self) -> str:
        raw = self.baseline
        if raw is None:
            return ""
        said = []
        if self.rate and raw.rate:
            said.append(f"{self.rate / raw.rate:.2f}x the rate")
        if self.latency and raw.latency:
            said.append(
                f"{statistics.median(self.latency) / statistics.median(raw.latency):.1f}x p50"
            )
        return "; ".join(said)


def table(rows: Sequence[Row]) -> str:
    head = ["phase", "measure", "n", "per s", "p50 s", "p95 s", "p99 s", "max s", "vs raw"]
    lines = ["| " + " | ".join(head) + " |", "| " + " | ".join(["---"] * len(head)) + " |"]
    lines += ["| " + " | ".join(row.cells()) + " |" for row in rows]
    return "\n".join(lines)


def processes_table(phases: dict[str, tuple[float, dict[str, Usage]]]) -> str:
    """Per process: CPU seconds used and peak RSS in each phase (and its length)."""
    names = sorted({name for _, usage in phases.values() for name in usage})
    head = ["process"] + [
        f"{phase} ({seconds:.0f} s): CPU s / peak RSS MiB" for phase, (seconds, _) in phases.items()
    ]
    lines = ["| " + " | ".join(head) + " |", "| " + " | ".join(["---"] * len(head)) + " |"]
    for name in names:
        cells = [name]
        for _, usage in phases.values():
            u = usage.get(name)
            cells.append(f"{u.cpu:.1f} / {u.peak_rss:.0f}" if u else "")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _temporal_server() -> str:
    cli = shutil.which("temporal") or str(Path(sys.executable).parent / "temporal")
    try:
        said = subprocess.run([cli, "--version"], capture_output=True, text=True, timeout=30)
    except OSError:
        return "unknown"
    found = re.search(r"Server ([\w.]+)", said.stdout)
    return found[1] if found else said.stdout.strip() or "unknown"


def _kafka(lib: Path) -> str:
    found = sorted(lib.glob("kafka_2.13-*.jar"))
    return found[0].stem.removeprefix("kafka_2.13-") if found else "unknown"


def environment(kafka_lib: Path, load: tuple[float, float, float]) -> str:
    """The versions and the machine, one line each."""
    with open("/proc/meminfo") as meminfo:
        total = int(meminfo.readline().split()[1]) / 1024 / 1024
    return "\n".join(
        [
            f"- versions: Python {platform.python_version()}, temporalio "
            f"{version('temporalio')}, aiokafka {version('aiokafka')}, faststream "
            f"{version('faststream')}, Kafka {_kafka(kafka_lib)}, Temporal server "
            f"{_temporal_server()}",
            f"- machine: {os.cpu_count()} cores, {total:.1f} GiB memory, Linux "
            f"{platform.release()}, load average at start " + " ".join(f"{x:.2f}" for x in load),
            f"- date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        ]
    )


def write_docs(path: Path, section: str) -> None:
    """Replace the generated part of docs/benchmarks.md, keeping everything around it."""
    text = path.read_text() if path.exists() else f"# Benchmarks\n\n{START}\n{END}\n"
    if START not in text or END not in text:
        text += f"\n{START}\n{END}\n"
    before, rest = text.split(START, 1)
    _, after = rest.split(END, 1)
    path.write_text(f"{before}{START}\n{section.strip()}\n{END}{after}")
