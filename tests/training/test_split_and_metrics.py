"""Time splits keep tickets whole and the future out; metrics by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from training.dataset import build_snapshots, ticket_outcomes
from training.metrics import expected_calibration_error, precision_recall_at_k
from training.split import rolling_splits


def test_precision_recall_at_k_by_hand() -> None:
    y = np.array([1, 0, 1, 1, 0, 0], dtype=bool)
    score = np.array([0.9, 0.8, 0.7, 0.1, 0.2, 0.3])

    precision, recall = precision_recall_at_k(y, score, 3)

    # Top 3 by score: rows 0 (yes), 1 (no), 2 (yes); 3 positives in all.
    assert (precision, recall) == pytest.approx((2 / 3, 2 / 3))


def test_expected_calibration_error_by_hand() -> None:
    y = np.array([1, 0, 0, 0])
    p = np.array([0.05, 0.05, 0.95, 0.95])

    # Bin 0: mean p 0.05 vs rate 0.5; bin 9: 0.95 vs 0.0; each half the rows.
    assert expected_calibration_error(y, p) == pytest.approx(0.5 * 0.45 + 0.5 * 0.95)


def test_rolling_splits_whole_tickets_gap_and_censoring(
    uci_events: pd.DataFrame,
) -> None:
    outcomes = ticket_outcomes(uci_events)
    gap = pd.Timedelta(days=3)

    splits = rolling_splits(outcomes, n_cutoffs=3, gap=gap)

    assert len(splits) == 3
    for split in splits:
        train = outcomes.loc[sorted(split.train | split.validation)]
        test = outcomes.loc[sorted(split.test)]
        assert not (split.train | split.validation) & split.test
        assert (train["created_at"] < split.cutoff - gap).all()
        assert (train["outcome_at"] <= split.known_at).all()
        assert (test["created_at"] >= split.cutoff).all()
        assert test["stalled"].notna().all()


def test_build_snapshots_drops_moments_after_breach(uci_events: pd.DataFrame) -> None:
    snapshots, _ = build_snapshots(uci_events)
    breached = snapshots[snapshots["breached_at"].notna()]

    assert (breached["at"] < breached["breached_at"]).all()
    assert not snapshots["done"].any()
    assert snapshots.groupby("ticket_id")["first_moment"].sum().eq(1).all()


def test_unlearnable_names_the_single_class() -> None:
    from training.pipeline import _unlearnable

    one_class = pd.DataFrame({"stalled": [True, True, True]})
    both = pd.DataFrame({"stalled": [True, False]})

    assert _unlearnable(both, both) is None
    reason = _unlearnable(one_class, both)
    assert reason is not None
    assert reason.startswith("3 training moments with 1 outcome class(es)")


def test_results_table_marks_skipped_cutoffs() -> None:
    from training.report import results_table

    kept = {
        "cutoff": "2024-02-01T00:00:00",
        "test_end": "2024-03-01T00:00:00",
        "test_tickets": 10,
        "train_tickets": 40,
        "m.first_pr_auc": 0.5,
        "m.first_prevalence": 0.2,
    }
    skipped = {**kept, "cutoff": "2024-01-01T00:00:00", "skipped": "no outcomes"}
    skipped = {k: v for k, v in skipped.items() if not k.startswith("m.")}

    table = results_table([skipped, kept], scorers=("m",), k=5)

    assert "over 1 of 2 rolling cut-offs" in table
    assert "| PR-AUC, first moment | 0.500 ± 0.000 |" in table
    assert "| ROC-AUC, first moment | n/a |" in table
    assert "Skipped 2024-01-01: no outcomes." in table
