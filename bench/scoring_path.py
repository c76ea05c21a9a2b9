"""Benchmark: one ticket of about 20 events scored in process, and where time goes.

Times the service call behind ``POST /v1/risk-scores`` for one ticket sent
with its events on the one-ticket path (plain rows, NumPy) and on the batch
path (data frames), the booster alone on a NumPy row and on a one-row data
frame, and profiles both paths with pyinstrument.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
from pyinstrument import Profiler
from setup_model import MOMENT, sample_ticket

from features.sla.desk import load_desk_file
from features.store import count_events, create_schema, make_engine, store_version
from models.backlog import Backlog
from models.scorer import CurrentPointer, StallScorer
from models.service import StallService
from models.ticket_scorer import RowScorer, sent_ticket_row
from stallwatch.settings import Settings


def _times(call: Callable[[], object], n: int) -> list[float]:
    out = []
    for _ in range(n):
        started = time.perf_counter()
        call()
        out.append(time.perf_counter() - started)
    return out


def _cell(times: list[float]) -> str:
    ms = sorted(t * 1000 for t in times)
    p90 = ms[int(0.9 * (len(ms) - 1))]
    return (
        f"{statistics.median(ms):.3f} ms (p10 {ms[int(0.1 * (len(ms) - 1))]:.3f}, "
        f"p90 {p90:.3f}, {len(ms)} calls)"
    )


def _profile(call: Callable[[], object], n: int) -> str:
    profiler = Profiler(interval=0.0002)
    profiler.start()
    for _ in range(n):
        call()
    profiler.stop()
    text = profiler.output_text(unicode=False, color=False, show_all=False)
    lines = [line for line in text.splitlines() if line.strip()]
    body = [line for line in lines if "|" in line or line.lstrip()[:1].isdigit()]
    return "\n".join(body[:40])


def run(*, workdir: Path, env: dict[str, str], calls: int) -> list[str]:
    """Time and profile both paths; return the report's lines."""
    settings = Settings(
        database_url=env["STALLWATCH_DATABASE_URL"],
        model_dir=Path(env["STALLWATCH_MODEL_DIR"]),
    )
    engine = make_engine(settings.database_url)
    create_schema(engine)
    service = StallService(
        Backlog(engine, load_desk_file(settings.sla_desk)), settings.model_dir
    )
    service.warm_up()
    scorer = service.scorer()
    assert scorer is not None
    ticket_id, events = sample_ticket(workdir)
    for e in events:
        e["occurred_at"] = pd.Timestamp(e["occurred_at"]).to_pydatetime()
    at = MOMENT.to_pydatetime()
    sent: list[tuple[str, list[dict[str, Any]] | None]] = [(ticket_id, events)]

    def fast() -> object:
        return service.score_tickets(sent, at=at)

    frame = pd.DataFrame([dict(e, ticket_id=ticket_id) for e in events])
    # The same real ticket as the store holds it, asked for by its id.
    stored_id = ticket_id.removeprefix("BENCH-")
    by_id: list[tuple[str, list[dict[str, Any]] | None]] = [(stored_id, None)]

    def stored_fast() -> object:
        return service.score_tickets(by_id, at=at)

    def stored_batch() -> object:
        return scorer.score(service.backlog.stored_rows([stored_id], at))

    def batch() -> object:
        return scorer.score(service.backlog.rows_for_events(frame, at))

    row = sent_ticket_row(
        service.backlog.desk, service.backlog.desk_context(), ticket_id, events, at
    )
    assert row is not None
    one = RowScorer(scorer.bundle)
    numpy_row = one.matrix(row)
    frame_row = scorer.bundle.matrix(pd.DataFrame([row]))
    booster = scorer.bundle.booster
    pointer = CurrentPointer(settings.model_dir)

    fast()
    batch()
    stored_fast()
    stored_batch()
    cases = [
        (
            "service call, one-ticket path (features, clocks, model, reasons, "
            "time to breach)",
            _times(fast, calls),
        ),
        ("service call, batch path (data frames)", _times(batch, max(calls // 10, 20))),
        (
            "service call, the stored ticket asked for by id, one-ticket path",
            _times(stored_fast, calls),
        ),
        (
            "the stored ticket by id, batch path (data frames)",
            _times(stored_batch, max(calls // 10, 20)),
        ),
        (
            "one-ticket features and clocks only",
            _times(
                lambda: sent_ticket_row(
                    service.backlog.desk,
                    service.backlog.desk_context(),
                    ticket_id,
                    events,
                    at,
                ),
                calls,
            ),
        ),
        (
            "model, calibration, reasons, time to breach on the NumPy row",
            _times(lambda: one.score(row), calls),
        ),
        (
            "store version check per request, one-row counter (`store_version`)",
            _times(lambda: store_version(engine), calls),
        ),
        (
            "store version check as it was, COUNT(*) (`count_events`)",
            _times(lambda: count_events(engine), calls),
        ),
        (
            "model pointer check per request, stat of CURRENT (`CurrentPointer`)",
            _times(pointer.version, calls),
        ),
        (
            "model pointer check as it was, read CURRENT (`newest_version`)",
            _times(lambda: StallScorer.newest_version(settings.model_dir), calls),
        ),
        (
            "booster.predict, one NumPy row, num_threads=1 (as served)",
            _times(lambda: booster.predict(numpy_row, num_threads=1), calls),
        ),
        (
            "booster.predict, one NumPy row, the model's 2 threads",
            _times(lambda: booster.predict(numpy_row), calls),
        ),
        (
            "booster.predict, one-row data frame (as_matrix built)",
            _times(
                lambda: booster.predict(scorer.bundle.matrix(pd.DataFrame([row]))),
                max(calls // 5, 20),
            ),
        ),
        (
            "booster.predict, one-row data frame (already built)",
            _times(lambda: booster.predict(frame_row), calls),
        ),
    ]
    lines = [
        "## One ticket scored in process",
        "",
        f"Ticket `{ticket_id}`: a real UCI incident open at {MOMENT.isoformat()}, "
        f"{len(events)} events, sent with its events (not in the store); model "
        f"`{scorer.version}` ({booster.num_trees()} trees, "
        f"{len(scorer.bundle.features)} features). Median, 10th and 90th "
        "percentile of repeated calls.",
        "",
        "| step | time |",
        "|---|---|",
        *(f"| {name} | {_cell(times)} |" for name, times in cases),
        "",
        f"Where the one-ticket path spends its time (pyinstrument, {calls} calls):",
        "",
        "```text",
        _profile(fast, calls),
        "```",
        "",
        "Where the batch path spends its time (pyinstrument, 20 calls):",
        "",
        "```text",
        _profile(batch, 20),
        "```",
        "",
    ]
    engine.dispose()
    return lines
