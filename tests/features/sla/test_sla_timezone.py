"""SLA results do not depend on the server's local time zone."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parents[2]
CHILD_FLAG = "STALLWATCH_SLA_TZ_CHILD"
SUITE = [
    "test_sla_cases.py",
    "test_sla_clocks.py",
    "test_sla_calendar.py",
    "test_sla_properties.py",
]


def _run(args: list[str], zone: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TZ": zone, CHILD_FLAG: "1", "PYTHONDONTWRITEBYTECODE": "1"}
    return subprocess.run(
        args, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=600
    )


@pytest.mark.skipif(bool(os.environ.get(CHILD_FLAG)), reason="inside the TZ run")
@pytest.mark.parametrize(
    ("zone", "offset"), [("America/New_York", "-0"), ("Asia/Kolkata", "+0530")]
)
def test_clock_suite_passes_under_server_time_zone(zone: str, offset: str) -> None:
    # The child really runs in the zone: its local offset is not UTC's.
    probe = _run(
        [sys.executable, "-c", "import time; print(time.strftime('%z'))"], zone
    )
    assert probe.stdout.strip().startswith(offset), probe.stdout

    files = [str(HERE / name) for name in SUITE]
    args = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *files]
    result = _run(args, zone)

    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert " passed" in result.stdout and "failed" not in result.stdout
