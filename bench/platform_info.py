"""The machine a benchmark ran on, in one line for the report."""

from __future__ import annotations

import os
from pathlib import Path


def describe() -> str:
    """Return the CPU model, usable cores, memory and load average."""
    cpu = "unknown CPU"
    info = Path("/proc/cpuinfo")
    if info.exists():
        for line in info.read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    memory = ""
    meminfo = Path("/proc/meminfo")
    if meminfo.exists():
        total_kb = int(meminfo.read_text().split()[1])
        memory = f", {total_kb / 1024**2:.0f} GiB memory"
    load = ", load average {:.1f} {:.1f} {:.1f} at the start".format(*os.getloadavg())
    return f"{cpu}, {len(os.sched_getaffinity(0))} usable cores{memory}{load}"
