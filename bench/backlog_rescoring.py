"""Benchmark: rescoring every open ticket, as the scheduler and the list do.

Open backlogs of 10,000 and 100,000 tickets are built from the real UCI log
(:func:`sla_clocks.open_backlog`: cut to each incident's open life, replicated
with new ids and week-shifted times). Each size runs in its own process, handed
its events in a pickle, so its peak memory is its own. Timed as
:class:`models.backlog.Backlog` runs them:

- once per store change: event states and the clock replay of every ticket;
- every rescoring: as-of rows of every open ticket (``features_at``), their
  clocks (``with_clocks``), the calibrated model and the ranking
  (``models.escalation.rank``);
- the peer: LightGBM's raw ``predict`` on the same, already built matrix.

The events are held in memory, not read from a store: the store read happens
once per change and is timed by the import benchmark.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from goals import verdict
from pyinstrument import Profiler

from features.asof import event_states, features_at
from features.sla.desk import load_desk_file
from features.sla.table import clock_history_frame, lookup_history
from models.backlog import with_clocks
from models.escalation import rank
from models.scorer import StallScorer
from stallwatch.settings import Settings


def _peak_mb() -> float:
    """Peak resident memory of this process image (``ru_maxrss`` survives exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(events_file: Path, model_dir: Path) -> dict[str, Any]:
    """Build and rescore the open backlog in ``events_file``; return the timings."""
    desk = load_desk_file(Settings().sla_desk)
    scorer = StallScorer.load(model_dir)
    before = _peak_mb()
    events = pd.read_pickle(events_file)
    now = events["occurred_at"].max() + pd.Timedelta(hours=1)

    started = time.perf_counter()
    states = event_states(events)
    history, calendars = clock_history_frame(desk, events)
    history = lookup_history(history)  # as the service holds it
    build = time.perf_counter() - started

    def rescore() -> tuple[pd.DataFrame, list[float], int]:
        started = time.perf_counter()
        moments = pd.DataFrame({"ticket_id": states["ticket_id"].unique(), "at": now})
        rows = features_at(states, moments)
        rows = rows[~rows["done"] & ~rows["merged"]]
        rows = with_clocks(rows, history, calendars)
        features = time.perf_counter() - started
        started = time.perf_counter()
        probability = scorer.probabilities(rows)
        model = time.perf_counter() - started
        started = time.perf_counter()
        order, _ = rank(rows, probability, scorer.bundle.band(probability))
        ranking = time.perf_counter() - started
        return rows, [features, model, ranking], len(order)

    rows, (features, model, ranking), ranked = rescore()
    # Where a rescoring spends its time: a second one, under pyinstrument.
    profiler = Profiler(interval=0.001)
    profiler.start()
    rescore()
    profiler.stop()
    text = profiler.output_text(unicode=False, color=False, show_all=False)
    profile = [line for line in text.splitlines() if "|" in line or "`-" in line]

    matrix = scorer.bundle.matrix(rows)
    started = time.perf_counter()
    np.asarray(scorer.bundle.booster.predict(matrix))
    raw = time.perf_counter() - started
    return {
        "tickets": float(len(rows)),
        "events": float(len(events)),
        "build_s": build,
        "features_s": features,
        "model_s": model,
        "rank_s": ranking,
        "raw_predict_s": raw,
        "ranked": float(ranked),
        "base_mb": before,
        "peak_mb": _peak_mb(),
        "profile": "\n".join(profile[:40]),
    }


def run(*, sizes: list[int], env: dict[str, str]) -> list[str]:
    """Measure each size in a fresh process; return the report's lines."""
    from sla_clocks import open_backlog

    results = []
    with tempfile.TemporaryDirectory() as folder:
        for size in sizes:
            events_file = Path(folder) / f"backlog-{size}.pkl"
            open_backlog(size).to_pickle(events_file)
            command = [sys.executable, __file__, str(events_file)]
            command.append(env["STALLWATCH_MODEL_DIR"])
            done = subprocess.run(
                command, env=env, capture_output=True, text=True, check=True
            )
            results.append(json.loads(done.stdout.strip().splitlines()[-1]))
            shown = {k: v for k, v in results[-1].items() if k != "profile"}
            print(f"bench: backlog of {size:,}: {shown}", flush=True)
    lines = [
        "## Rescoring the open backlog",
        "",
        "Open tickets of the real UCI log replicated with new ids and "
        "week-shifted times; one process per size. *Rescore* is what every "
        "ranking runs: as-of rows, SLA clocks, calibrated model, ranking. "
        "*Raw predict* is LightGBM's `predict` alone on the same, already "
        "built matrix. Peak memory is the process's maximum resident size; "
        "it holds the events, states, clock history and rows.",
        "",
        "| open tickets | events | build (once per store change) | rescore "
        "| tickets/s | model share | raw predict | rescore / raw | peak memory |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        rescore = r["features_s"] + r["model_s"] + r["rank_s"]
        lines.append(
            f"| {r['tickets']:,.0f} | {r['events']:,.0f} | {r['build_s']:.1f} s "
            f"| {rescore:.2f} s | {r['tickets'] / rescore:,.0f} "
            f"| {r['model_s'] / rescore:.0%} | {r['raw_predict_s']:.3f} s "
            f"| {rescore / r['raw_predict_s']:,.1f} times | {r['peak_mb']:,.0f} MB |"
        )
    if len(results) >= 2:
        a, b = results[0], results[-1]
        grown = [r["peak_mb"] - r["base_mb"] for r in (a, b)]
        growth = np.log(grown[1] / grown[0]) / np.log(b["tickets"] / a["tickets"])
        lines += [
            "",
            f"Memory above the process's start (libraries and model loaded) grows "
            f"from {grown[0]:,.0f} MB to {grown[1]:,.0f} MB between "
            f"{a['tickets']:,.0f} and {b['tickets']:,.0f} open tickets: as "
            f"tickets^{growth:.2f} (1.00 is linear).",
        ]
    # The goals, on the largest backlog measured.
    big = results[-1]
    rescore = big["features_s"] + big["model_s"] + big["rank_s"]
    rate = big["tickets"] / rescore
    ratio = rescore / big["raw_predict_s"]
    lines += [
        "",
        f"Goals at {big['tickets']:,.0f} open tickets:",
        "",
        "| goal | measured | verdict |",
        "|---|---|---|",
        f"| at least 50,000 tickets/s on 2 cores | {rate:,.0f} | "
        f"{verdict(50_000 / rate)} |",
        f"| within 3 times LightGBM's raw batch predict | {ratio:.1f} times | "
        f"{verdict(ratio / 3)} |",
    ]
    profiled = results[min(1, len(results) - 1)]
    lines += [
        "",
        f"Where one rescoring of {profiled['tickets']:,.0f} open tickets spends "
        "its time (pyinstrument, a second rescoring in the same process):",
        "",
        "```text",
        profiled["profile"],
        "```",
    ]
    return [*lines, ""]


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    print(json.dumps(measure(Path(sys.argv[1]), Path(sys.argv[2]))))
