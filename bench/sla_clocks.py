"""Benchmark: SLA clocks of 100,000 open tickets from the real UCI log.

The bundled log is cut to each incident's open life (events before it is
first resolved), then replicated with new ticket ids and times shifted by
whole weeks until it holds the asked number of tickets, so the data keeps its
real shape. Two steps are timed, as the service runs them: the one replay of
every ticket (once per store change) and the roll-forward of every open clock
to "now" (every request).

Run through ``bench/run.py``, which writes ``docs/benchmarks.md``.
"""

from __future__ import annotations

import statistics
import time

import pandas as pd

from features.importers.uci import load_uci
from features.sla.desk import load_desk_file
from features.sla.table import clock_history_frame, clocks_at
from stallwatch.cli import BUNDLED_UCI
from stallwatch.settings import Settings


def open_backlog(n_tickets: int) -> pd.DataFrame:
    """Return canonical events of ``n_tickets`` open tickets of real shape."""
    return replicate_open(load_uci(BUNDLED_UCI).events, n_tickets)


def replicate_open(events: pd.DataFrame, n_tickets: int) -> pd.DataFrame:
    """Cut ``events`` to each ticket's open life and copy it to ``n_tickets``.

    Copy k gets ticket ids suffixed ``-k`` and times shifted by k weeks.
    """
    done = events["status"].isin(["resolved", "closed"])
    first_done = events[done].groupby("ticket_id")["occurred_at"].min()
    cut = events["ticket_id"].map(first_done)
    open_life = events[cut.isna() | (events["occurred_at"] < cut)]
    copies: list[pd.DataFrame] = []
    copy = 0
    while sum(len(c["ticket_id"].unique()) for c in copies) < n_tickets:
        shifted = open_life.assign(
            ticket_id=open_life["ticket_id"] + f"-{copy}",
            occurred_at=open_life["occurred_at"] + pd.Timedelta(weeks=copy),
        )
        copies.append(shifted)
        copy += 1
    backlog = pd.concat(copies, ignore_index=True)
    keep = backlog["ticket_id"].drop_duplicates().iloc[:n_tickets]
    return backlog[backlog["ticket_id"].isin(keep)].reset_index(drop=True)


def run(*, tickets: int, repeat: int) -> list[str]:
    """Time the replay and the roll-forward; return the report's lines."""
    desk = load_desk_file(Settings().sla_desk)
    events = open_backlog(tickets)
    n_tickets = events["ticket_id"].nunique()
    now = events["occurred_at"].max() + pd.Timedelta(hours=1)
    moments = pd.DataFrame({"ticket_id": events["ticket_id"].unique(), "at": now})

    started = time.perf_counter()
    history, calendars = clock_history_frame(desk, events)
    replay = time.perf_counter() - started

    rolls = []
    for _ in range(repeat):
        started = time.perf_counter()
        clocks = clocks_at(history, calendars, moments)
        rolls.append(time.perf_counter() - started)
    states = clocks["state"].value_counts().to_dict()
    return [
        "## SLA clocks of the open backlog",
        "",
        f"{n_tickets:,} open tickets ({len(events):,} events) of the real UCI "
        "log, cut to their open life and replicated with week-shifted times; "
        "three clocks each (first response, next response, resolution) under "
        "the bundled UCI desk policy.",
        "",
        "| step | when it runs | time |",
        "|---|---|---|",
        f"| replay every ticket once (clock history, {len(history):,} rows) "
        f"| once per store change | {replay:.1f} s "
        f"({n_tickets / replay:,.0f} tickets/s) |",
        f"| roll every open clock forward to now ({len(clocks):,} clocks) "
        f"| every ranking | median {statistics.median(rolls) * 1000:.0f} ms "
        f"(min {min(rolls) * 1000:.0f}, max {max(rolls) * 1000:.0f}, "
        f"{repeat} runs) |",
        "",
        f"Clock states at now: {states}.",
        "",
    ]
