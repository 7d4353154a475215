"""CPU and memory of every process of the run, read from /proc: CPU seconds used during a
phase (user + system, the process's and its waited-for children's) and the peak resident
set size sampled during it; for a soak, the resident set size every interval."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["Sampler", "Usage", "cpu_seconds", "rss_mib"]

_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name may hold spaces and brackets: the fields start after its last ')'.
    fields = stat.rsplit(")", 1)[1].split()
    utime, stime, cutime, cstime = (int(f) for f in fields[11:15])
    return (utime + stime + cutime + cstime) / _TICKS


def rss_mib(pid: int) -> float | None:
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return None


@dataclass
class Usage:
    cpu: float = 0.0  # seconds
    peak_rss: float = 0.0  # MiB
    rss: list[float] = field(default_factory=list)  # MiB, one per sample


@dataclass
class Sampler:
    """Samples the processes `pids()` names (it may change: a service restarted) until
    cancelled; `usage` then holds each one's figures since the sampler started."""

    pids: Callable[[], dict[str, int]]
    interval: float = 1.0
    report: Callable[[dict[str, float]], None] | None = None  # each sample's RSS, MiB
    usage: dict[str, Usage] = field(default_factory=dict)
    _cpu_seen: dict[tuple[str, int], tuple[float, float]] = field(default_factory=dict)

    async def run(self) -> None:
        try:
            while True:
                self.sample()
                await asyncio.sleep(self.interval)
        finally:
            self.sample()

    def sample(self) -> None:
        latest: dict[str, float] = {}
        for name, pid in self.pids().items():
            usage = self.usage.setdefault(name, Usage())
            cpu, rss = cpu_seconds(pid), rss_mib(pid)
            if cpu is not None:
                first, _ = self._cpu_seen.get((name, pid), (cpu, cpu))
                self._cpu_seen[(name, pid)] = (first, cpu)
            if rss is not None:
                usage.peak_rss = max(usage.peak_rss, rss)
                usage.rss.append(rss)
                latest[name] = rss
        for name, usage in self.usage.items():
            usage.cpu = sum(
                last - first for (n, _), (first, last) in self._cpu_seen.items() if n == name
            )
        if self.report is not None:
            self.report(latest)
