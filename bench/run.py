"""Run every benchmark and write ``docs/benchmarks.md``.

Run: ``.venv/bin/python bench/run.py [--tickets 100000] [--repeat 5]
[--workdir var/bench] [--http-seconds 5] [--rounds 3] [--calls 300]
[--backlog-sizes 10000,100000] [--history-sizes 100000,300000,1000000]``

The scoring benchmarks need a trained model: the first run imports the bundled
UCI log and trains the demo's model into ``--workdir`` (a few minutes), later
runs reuse it. ``wrk`` is installed with apt-get when missing.
"""

from __future__ import annotations

import argparse
import os
import platform
import signal
import subprocess
import sys
import traceback
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import backlog_rescoring
import history_training
import http_scoring
import import_rate
import platform_info
import scoring_path
import setup_model
import sla_clocks

from stallwatch.settings import REPO_ROOT


class Stopped(BaseException):
    """A stop request: unwinds past every section, unlike a failure."""


def _stop(*_: object) -> None:
    raise Stopped("bench: stopped")


def _section(title: str, call: Callable[[], list[str]]) -> list[str]:
    """Run one benchmark; a failure is reported in its place, not lost."""
    try:
        return call()
    except (Exception, SystemExit) as exc:  # a stop request is neither
        if isinstance(exc, subprocess.CalledProcessError):
            detail = f"{exc}\n{exc.stderr or ''}"[-2000:]
        else:
            detail = "".join(traceback.format_exception(exc))[-2000:]
        print(f"bench: {title} failed:\n{detail}", file=sys.stderr)
        failed = ["**Failed in this run:**", "", "```text", detail, "```", ""]
        return [f"## {title}", "", *failed]


def main() -> None:
    """Run the benchmarks and write the dated report."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--workdir", type=Path, default=REPO_ROOT / "var" / "bench")
    parser.add_argument("--http-seconds", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument(
        "--backlog-sizes",
        default="10000,100000",
        help="open-ticket counts to rescore, comma-separated (1000000 takes long)",
    )
    parser.add_argument(
        "--history-sizes",
        default="100000,300000,1000000",
        help="events of history to store, build snapshots of and train on",
    )
    args = parser.parse_args()
    # A stop request unwinds, so the servers the bench started are stopped too.
    signal.signal(signal.SIGTERM, _stop)
    workdir = args.workdir.resolve()
    env = setup_model.prepare(workdir)

    lines = [
        "# Benchmarks",
        "",
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {platform.machine()} "
        f"with {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"{platform.system()}: {platform_info.describe()}. Reproduce with "
        f"`.venv/bin/python bench/run.py --tickets {args.tickets} --repeat "
        f"{args.repeat} --http-seconds {args.http_seconds} --rounds {args.rounds} "
        f"--calls {args.calls} --backlog-sizes {args.backlog_sizes} "
        f"--history-sizes {args.history_sizes}`.",
        "",
        "The machine is shared with other work and noisy: absolute figures move "
        "from run to run; ratios between peers measured in the same run count.",
        "",
        *_section(
            "One ticket scored in process",
            lambda: scoring_path.run(workdir=workdir, env=env, calls=args.calls),
        ),
        *_section(
            "Scoring one ticket over HTTP",
            lambda: http_scoring.run(
                workdir=workdir, env=env, seconds=args.http_seconds, rounds=args.rounds
            ),
        ),
        *_section(
            "Rescoring the open backlog",
            lambda: backlog_rescoring.run(
                sizes=[int(n) for n in args.backlog_sizes.split(",")], env=env
            ),
        ),
        *_section(
            "Importing the UCI log", lambda: import_rate.run(repeat=min(args.repeat, 3))
        ),
        *_section(
            "Building history and training",
            lambda: history_training.run(
                sizes=[int(n) for n in args.history_sizes.split(",")], env=env
            ),
        ),
        *_section(
            "SLA clocks of the open backlog",
            lambda: sla_clocks.run(tickets=args.tickets, repeat=args.repeat),
        ),
    ]
    target = REPO_ROOT / "docs" / "benchmarks.md"
    target.write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
