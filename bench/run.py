"""Run every benchmark and write ``docs/benchmarks.md``.

Run: ``.venv/bin/python bench/run.py [--tickets 100000] [--repeat 5]``
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import import_rate
import sla_clocks

from stallwatch.settings import REPO_ROOT


def main() -> None:
    """Run the benchmarks and write the dated report."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    lines = [
        "# Benchmarks",
        "",
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {platform.machine()} "
        f"with {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"{platform.system()}. Reproduce with `.venv/bin/python bench/run.py "
        f"--tickets {args.tickets} --repeat {args.repeat}`.",
        "",
        *import_rate.run(repeat=min(args.repeat, 3)),
        *sla_clocks.run(tickets=args.tickets, repeat=args.repeat),
    ]
    target = REPO_ROOT / "docs" / "benchmarks.md"
    target.write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
