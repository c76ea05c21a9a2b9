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


def _sections(
    args: argparse.Namespace, workdir: Path, env: dict[str, str]
) -> dict[str, tuple[str, Callable[[], list[str]]]]:
    """Every benchmark by its short name: its title and how to run it."""
    return {
        "scoring": (
            "One ticket scored in process",
            lambda: scoring_path.run(workdir=workdir, env=env, calls=args.calls),
        ),
        "http": (
            "Scoring one ticket over HTTP",
            lambda: http_scoring.run(
                workdir=workdir, env=env, seconds=args.http_seconds, rounds=args.rounds
            ),
        ),
        "backlog": (
            "Rescoring the open backlog",
            lambda: backlog_rescoring.run(
                sizes=[int(n) for n in args.backlog_sizes.split(",")], env=env
            ),
        ),
        "import": (
            "Importing the UCI log",
            lambda: import_rate.run(repeat=min(args.repeat, 3)),
        ),
        "history": (
            "Building history and training",
            lambda: history_training.run(
                sizes=[int(n) for n in args.history_sizes.split(",")], env=env
            ),
        ),
        "sla": (
            "SLA clocks of the open backlog",
            lambda: sla_clocks.run(tickets=args.tickets, repeat=args.repeat),
        ),
    }


def replace_sections(page: str, fresh: dict[str, list[str]], note: str) -> str:
    """Return ``page`` with each ``## title`` section replaced by a fresh one.

    ``fresh`` maps a title to the section's new lines (starting with its
    heading); ``note`` goes under each replaced heading. A title the page
    lacks is added at the end.
    """
    lines = page.split("\n")
    for title, section in fresh.items():
        heading = f"## {title}"
        body = [*section[:1], "", note, *section[1:]]
        if heading in lines:
            start = lines.index(heading)
            end = next(
                (i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")),
                len(lines),
            )
            lines[start:end] = body
        else:
            lines += body
    return "\n".join(lines)


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
    parser.add_argument(
        "--only",
        default="",
        help="comma-separated sections to run again (scoring, http, backlog, "
        "import, history, sla); each replaces its section in the existing "
        "docs/benchmarks.md, marked with the time and command of this run",
    )
    args = parser.parse_args()
    # A stop request unwinds, so the servers the bench started are stopped too.
    signal.signal(signal.SIGTERM, _stop)
    workdir = args.workdir.resolve()
    env = setup_model.prepare(workdir)
    sections = _sections(args, workdir, env)
    target = REPO_ROOT / "docs" / "benchmarks.md"
    command = (
        f"`.venv/bin/python bench/run.py --tickets {args.tickets} --repeat "
        f"{args.repeat} --http-seconds {args.http_seconds} --rounds {args.rounds} "
        f"--calls {args.calls} --backlog-sizes {args.backlog_sizes} "
        f"--history-sizes {args.history_sizes}"
    )
    started = datetime.now(UTC)
    load = "{:.1f} {:.1f} {:.1f}".format(*os.getloadavg())

    if args.only:
        chosen = args.only.split(",")
        unknown = sorted(set(chosen) - set(sections))
        if unknown:
            parser.error(
                f"unknown section {', '.join(unknown)}: "
                f"expected one of {', '.join(sections)}"
            )
        fresh = {sections[k][0]: _section(*sections[k]) for k in chosen}
        note = (
            f"*Measured again on its own, {started:%Y-%m-%d %H:%M} UTC (load "
            f"average {load} at the start), with {command} --only {args.only}`; "
            "the other sections come from the run named at the top.*"
        )
        target.write_text(replace_sections(target.read_text(), fresh, note))
        print("\n".join(line for lines in fresh.values() for line in lines))
        return

    lines = [
        "# Benchmarks",
        "",
        f"Measured {started:%Y-%m-%d %H:%M} UTC on {platform.machine()} "
        f"with {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"{platform.system()}: {platform_info.describe()}. Reproduce with "
        f"{command}`.",
        "",
        "The machine is shared with other work and noisy: absolute figures move "
        "from run to run; ratios between peers measured in the same run count.",
        "",
    ]
    for title, call in sections.values():
        lines += _section(title, call)
    target.write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
