"""The bench's report plumbing: sections re-run alone, memory of worker processes."""

from __future__ import annotations

import subprocess
import sys
import time

from bench.run import replace_sections
from bench.tree_memory import TreeMemory

PAGE = "# Benchmarks\n## One\nold one\n## Two\nold two\n\n## Three\nold three"


def test_a_section_run_again_replaces_only_its_own_lines() -> None:
    fresh = {"Two": ["## Two", "", "new two", ""], "Four": ["## Four", "", "new"]}

    page = replace_sections(PAGE, fresh, "*again*")

    assert page == (
        "# Benchmarks\n## One\nold one\n"
        "## Two\n\n*again*\n\nnew two\n\n"
        "## Three\nold three\n"
        "## Four\n\n*again*\n\nnew"
    )


# A child that holds 400 MiB of touched memory for two seconds.
_HOLD = "b = bytearray(400 * 2**20); b[::4096] = b'x' * len(b[::4096]); " + (
    "import time; time.sleep(2)"
)


def test_tree_memory_counts_a_child_process() -> None:
    with TreeMemory(interval_s=0.05) as alone:
        time.sleep(0.3)
    with TreeMemory(interval_s=0.05) as tree:
        subprocess.run([sys.executable, "-c", _HOLD], check=True)

    # This process alone, then with a child holding 400 MiB on top of it.
    assert tree.peak_mb - alone.peak_mb > 400
