"""Real subprocesses for the kill and load tests: start, freeze, kill, wait."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def process_state(pid: int) -> str | None:
    """Return the kernel's one-letter state of ``pid`` (``T``: stopped), or None."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name sits in parentheses and may itself hold spaces.
    return stat.rsplit(")", 1)[1].split()[0]


def cpu_seconds(pid: int) -> float:
    """Return the user plus system CPU time ``pid`` has used, in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def wait_until(
    condition: Callable[[], bool],
    *,
    seconds: float,
    what: str,
    process: subprocess.Popen[bytes] | None = None,
    interval: float = 0.005,
) -> None:
    """Poll ``condition`` until it holds; fail after ``seconds`` or if ``process`` ends.

    A process that ends first means the moment waited for never came while
    it ran, which is a failure, never a pass.
    """
    deadline = time.monotonic() + seconds
    while not condition():
        if process is not None and process.poll() is not None:
            pytest.fail(
                f"the process ended (exit code {process.returncode}) before {what}"
            )
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {seconds} s waiting for {what}")
        time.sleep(interval)


def freeze(process: subprocess.Popen[bytes]) -> None:
    """Stop ``process`` with SIGSTOP and wait until the kernel shows it stopped."""
    os.kill(process.pid, signal.SIGSTOP)
    wait_until(
        lambda: process_state(process.pid) in ("T", "t"),
        seconds=10,
        what=f"process {process.pid} to stop",
        process=process,
    )


def kill_frozen(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL a stopped ``process`` and check the signal is what ended it."""
    assert process_state(process.pid) in ("T", "t"), (
        f"process {process.pid} is not stopped (state {process_state(process.pid)})"
    )
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL, (
        f"process {process.pid} ended with {process.returncode}, not by the kill"
    )


def reap(process: subprocess.Popen[bytes]) -> None:
    """Kill ``process`` (one the test started) if it still runs, and wait for it."""
    if process.poll() is None:
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
