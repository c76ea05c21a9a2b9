"""Score one ticket sent with its events, without building a data frame.

The per-request path of ``POST /v1/risk-scores``: the ticket's as-of row
(:func:`features.ticket_row.ticket_row`), its SLA clocks
(:func:`features.sla.ticket_clocks.ticket_clocks`), then the booster,
calibration, band, reasons and time to breach on a NumPy row. It gives the
same values as :meth:`models.scorer.StallScorer.score` on the batch rows of
:meth:`models.backlog.Backlog.rows_for_events`; a test checks both on real
tickets.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

from features.sla.desk import SlaDesk
from features.sla.policy import TARGETS
from features.sla.ticket_clocks import ticket_clocks, ticket_sla_features
from features.ticket_row import DeskContext, conform_records, ticket_row
from models.reasons import explain
from models.scorer import StallScore, TimeToBreach
from training.bundle import ModelBundle
from training.text import text_columns

_NAN = float("nan")
#: Topic texts whose dense columns are kept, so a repeated topic costs nothing.
_TOPIC_CACHE = 4_096


def clock_columns(clocks: list[dict[str, Any]]) -> dict[str, Any]:
    """Return the clock summary :func:`models.backlog.with_clocks` adds to a row."""
    running = [c for c in clocks if c["state"] == "running"]
    shares = [
        c["remaining_minutes"] / c["target_minutes"]
        for c in running
        if not math.isnan(c["remaining_minutes"] / c["target_minutes"])
    ]
    next_due = [c["due"] for c in running if c["due"] is not pd.NaT]
    breached = [c["due"] for c in clocks if c["breached"] and c["due"] is not pd.NaT]
    out: dict[str, Any] = {
        "sla_least_share_left": min(shares) if shares else _NAN,
        "sla_next_due": min(next_due) if next_due else pd.NaT,
        "sla_breached_since": min(breached) if breached else pd.NaT,
        "sla_clocks": {c["target"]: c["state"] for c in clocks} or None,
    }
    elapsed = {c["target"]: c["elapsed_minutes"] for c in clocks}
    for target in TARGETS:
        out[f"sla_{target}_elapsed_minutes"] = elapsed.get(target, _NAN)
    return out


def sent_ticket_row(
    desk: SlaDesk,
    context: DeskContext,
    ticket_id: str,
    events: Sequence[Mapping[str, Any]],
    at: datetime,
    *,
    stored: bool = False,
) -> dict[str, Any] | None:
    """Return the feature and clock row of one ticket from its own events.

    ``stored`` says the events are the store's own for a ticket ``context``
    already counts (see :func:`features.ticket_row.ticket_row`). None when the
    ticket has no event at or before ``at``.
    """
    records = conform_records(ticket_id, events)
    row = ticket_row(records, at, context, stored=stored)
    if row is None:
        return None
    clocks = ticket_clocks(desk, records, at)
    row.update(ticket_sla_features(clocks))
    row.update(clock_columns(clocks))
    return row


class RowScorer:
    """A model bundle ready to score one row held as a plain dictionary."""

    def __init__(self, bundle: ModelBundle) -> None:
        self.bundle = bundle
        self._codes = {
            name: {level: float(i) for i, level in enumerate(levels)}
            for name, levels in bundle.categorical.items()
        }
        self._text_names = text_columns(bundle.text)
        self._topics: dict[str, np.ndarray] = {}

    def _topic_columns(self, topic: Any) -> dict[str, float]:
        """Return the dense topic columns of one text, as the bundle computes them."""
        text = "" if topic is None else str(topic)
        dense = self._topics.get(text)
        if dense is None:
            texts = np.array([text], dtype=object)
            dense = self.bundle.text.transform(texts)[0]  # type: ignore[union-attr]
            if len(self._topics) >= _TOPIC_CACHE:
                self._topics.clear()
            self._topics[text] = dense
        return dict(zip(self._text_names, dense.tolist(), strict=True))

    def matrix(self, row: Mapping[str, Any]) -> np.ndarray:
        """Return the booster input of ``row``: category codes, then floats."""
        values = [
            codes.get(str(row[name]), _NAN) if row.get(name) is not None else _NAN
            for name, codes in self._codes.items()
        ]
        numeric = self.bundle.numeric
        if self._text_names:
            row = {**row, **self._topic_columns(row.get("topic"))}
        values += [_float(row.get(name)) for name in numeric]
        return np.array([values], dtype=float)

    def score(self, row: Mapping[str, Any], *, top_reasons: int = 3) -> StallScore:
        """Score one row and explain it with its strongest reasons."""
        matrix = self.matrix(row)
        booster = self.bundle.booster
        # One row: a second thread only waits for the first.
        raw = np.asarray(booster.predict(matrix, num_threads=1), dtype=float)
        probability = self.bundle.calibrate(raw)
        band = self.bundle.band(probability)
        contributions = np.asarray(
            booster.predict(matrix, pred_contrib=True, num_threads=1)
        )
        times: TimeToBreach | None = None
        model = self.bundle.time_to_breach
        if model is not None:
            median, p90 = model.quantiles(matrix, num_threads=1)[0].tolist()
            times = TimeToBreach(float(median), float(p90))
        return StallScore(
            ticket_id=str(row["ticket_id"]),
            probability=float(probability[0]),
            band=str(band[0]),
            reasons=explain(
                row, contributions[0, :-1], self.bundle.features, top=top_reasons
            ),
            model_version=self.bundle.version,
            time_to_breach=times,
        )


def _float(value: Any) -> float:
    if value is None or value is pd.NA or value is pd.NaT:
        return _NAN
    return float(value)
