"""The evaluation's metrics against tiny examples worked out by hand."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from training.evaluation.calibration import choose_calibrator
from training.evaluation.measures import (
    alerts_per_day,
    daily_top_k,
    lead_time_hours,
    probability_quality,
    review_precision_recall,
    score_stability,
    stage_rows,
    wall_hours,
)
from training.evaluation.protocol import censoring_weights
from training.metrics import expected_calibration_error

DAY = np.array(["a", "a", "a", "b", "b"])
Y = np.array([0, 1, 1, 1, 0], dtype=bool)
SCORE = np.array([0.1, 0.9, 0.5, 0.3, 0.3])


def test_daily_top_k_per_day_ties_to_the_earlier_row() -> None:
    chosen = daily_top_k(DAY, Y, SCORE, k=1)

    # Day a: row 1 (0.9); day b: rows 3 and 4 tie at 0.3, row 3 comes first.
    assert chosen.tolist() == [False, True, False, True, False]


def test_review_precision_recall_pooled_over_days() -> None:
    one = review_precision_recall(DAY, Y, SCORE, k=1)
    two = review_precision_recall(DAY, Y, SCORE, k=2)
    three = review_precision_recall(DAY, Y, SCORE, k=3)

    # k=1: rows 1 and 3 reviewed, both stalls; 3 stalls in all.
    assert (one["precision"], one["recall"]) == pytest.approx((1.0, 2 / 3))
    # k=2: rows 1, 2 (day a) and 3, 4 (day b): 3 stalls of 4 reviewed, all caught.
    assert (two["precision"], two["recall"]) == pytest.approx((0.75, 1.0))
    assert (two["days"], two["days_full"]) == (2.0, 2.0)
    # k=3: day b has only two candidates, so only day a is a full review.
    assert three["days_full"] == 1.0


def test_daily_top_k_refuses_misaligned_inputs() -> None:
    with pytest.raises(ValueError, match="one value per row"):
        daily_top_k(DAY, Y, SCORE[:3], k=1)


def test_lead_time_from_first_day_on_the_list_to_breach() -> None:
    t = pd.Timestamp("2024-03-04 12:00", tz="UTC")
    rows = pd.DataFrame(
        {
            "ticket_id": ["A", "A", "B", "C"],
            "at": [t, t + pd.Timedelta(days=1), t, t],
            "stalled": [True, True, True, False],
            "breached_at": [t + pd.Timedelta(hours=34)] * 2 + [t, pd.NaT],
        }
    )
    in_top = np.array([True, True, False, True])

    lead = lead_time_hours(rows, in_top, hours_between=wall_hours)

    # A is caught first at t and breaches 34 h later; B was never listed, C
    # did not stall.
    assert lead.tolist() == pytest.approx([34.0])


def test_score_stability_counts_each_ticket_once() -> None:
    t = pd.Timestamp("2024-03-04", tz="UTC")
    hours = [pd.Timedelta(hours=h) for h in range(7)]
    rows = pd.DataFrame(
        {
            "ticket_id": ["A", "A", "A", "A", "B", "B", "C"],
            "at": [t + h for h in hours],
            "moment": ["event", "event", "daily", "event", "event", "event", "event"],
        }
    )
    score = np.array([0.1, 0.3, 0.9, 0.2, 0.5, 0.9, 0.4])

    # A's events: 0.1, 0.3, 0.2 -> mean change 0.15 (its daily moment is
    # skipped); B: 0.4; C has one event and no change.
    assert score_stability(rows, score) == pytest.approx((0.15 + 0.4) / 2)


def test_alerts_per_day_counts_tickets_new_to_the_list() -> None:
    day = np.array([1, 1, 2, 2, 3, 3, 3])
    ticket = np.array(["A", "B", "B", "C", "A", "D", "E"])
    in_top = np.array([True, True, True, True, True, True, False])

    # Day 2 adds C; day 3 lists A and D, both absent on day 2.
    assert alerts_per_day(day, ticket, in_top) == pytest.approx(1.5)


def test_probability_quality_by_hand() -> None:
    quality = probability_quality(np.array([True, False]), np.array([0.8, 0.4]))

    assert quality["brier"] == pytest.approx((0.2**2 + 0.4**2) / 2)
    assert quality["log_loss"] == pytest.approx(-(math.log(0.8) + math.log(0.6)) / 2)
    # Two bins of one row each: |0.8 - 1| and |0.4 - 0|.
    assert quality["ece"] == pytest.approx(0.3)


def test_stage_rows_pick_each_tickets_first_moment_per_stage() -> None:
    t = pd.Timestamp("2024-03-04", tz="UTC")
    rows = pd.DataFrame(
        {
            "ticket_id": ["A"] * 5 + ["B"] * 2,
            "at": [t + pd.Timedelta(hours=h) for h in (0, 1, 2, 3, 4, 0, 1)],
            "first_moment": [True, False, False, False, False, True, False],
            "n_events": [1, 1, 2, 4, 5, 2, 3],
            "sla_resolution_used": [0.05, 0.12, 0.3, 0.6, 0.7, 0.0, 0.55],
        }
    )
    shuffled = rows.iloc[[6, 2, 0, 5, 4, 1, 3]].reset_index(drop=True)
    where = {label: i for i, label in enumerate([6, 2, 0, 5, 4, 1, 3])}

    stages = stage_rows(shuffled)

    expected = {
        "first": {0, 5},
        "events_1": {0},
        "events_2": {2, 5},
        "events_3": {6},
        "events_4plus": {3},
        "sla_used_10": {1, 6},
        "sla_used_25": {2, 6},
        "sla_used_50": {3, 6},
    }
    got = {
        name: {int(shuffled.index[p]) for p in positions}
        for name, positions in stages.items()
    }
    assert got == {n: {where[i] for i in idx} for n, idx in expected.items()}


def test_censoring_weights_undo_the_tilt_to_quick_outcomes() -> None:
    day = pd.Timestamp("2024-03-01", tz="UTC")
    outcomes = pd.DataFrame(
        {
            "created_at": [day + pd.Timedelta(days=d) for d in (0, 1, 2, 3)],
            "outcome_at": [day + pd.Timedelta(days=d) for d in (1, 5, 6, 4)],
            "stalled": pd.array([False, True, True, False], dtype="boolean"),
        },
        index=["t0", "t1", "t2", "t3"],
    )
    window = pd.Series(True, index=outcomes.index)

    weights = censoring_weights(
        outcomes, window=window, known_at=day + pd.Timedelta(days=5)
    )

    # t2 finishes after the horizon: unseen. t1 took 4 days, so only tickets
    # created by day 1 (2 of 4) could show it: weight 2. Quick ones: weight 1.
    assert weights.to_dict() == pytest.approx({"t0": 1.0, "t1": 2.0, "t3": 1.0})


def test_chosen_calibrator_lowers_ece_of_a_biased_score(
    rng: np.random.Generator,
) -> None:
    truth = rng.uniform(0.0, 1.0, 6_000)
    y = rng.uniform(0.0, 1.0, 6_000) < truth
    raw = truth**2  # systematically too low
    tickets = np.arange(6_000).astype(str)
    fit, held = slice(0, 3_000), slice(3_000, None)

    calibrator = choose_calibrator(raw[fit], y[fit], tickets[fit])

    before = expected_calibration_error(y[held], raw[held])
    after = expected_calibration_error(y[held], calibrator(raw[held]))
    assert calibrator.method in ("sigmoid", "isotonic")
    assert before > 0.1
    assert after < 0.05


def test_chosen_calibrator_keeps_a_calibrated_score_calibrated(
    rng: np.random.Generator,
) -> None:
    truth = rng.uniform(0.0, 1.0, 4_000)
    y = rng.uniform(0.0, 1.0, 4_000) < truth
    tickets = np.arange(4_000).astype(str)

    calibrator = choose_calibrator(truth, y, tickets)

    mapped = calibrator(np.array([0.1, 0.5, 0.9]))
    assert mapped == pytest.approx([0.1, 0.5, 0.9], abs=0.06)


def test_business_hours_follow_the_desks_calendar() -> None:
    from features.sla.desk import load_desk_file
    from stallwatch.settings import REPO_ROOT
    from training.evaluation.results import business_hours

    desk = load_desk_file(REPO_ROOT / "features" / "sla" / "desks" / "helpdesk.yaml")
    start = pd.Series(pd.to_datetime(["2024-03-04T08:00:00Z"]).as_unit("us"))
    end = pd.Series(pd.to_datetime(["2024-03-05T08:00:00Z"]).as_unit("us"))

    hours = business_hours(desk, pd.Timestamp("2024-03-04", tz="UTC"))(start, end)

    # Monday 09:00 to Tuesday 09:00 in Rome: 09-13 and 14-18, 8 office hours.
    assert hours.tolist() == pytest.approx([8.0])


def test_censoring_weights_recover_the_stall_rate_of_a_window(
    rng: np.random.Generator,
) -> None:
    # Tickets open uniformly over 10 days; the long ones stall. Seen at day
    # 20, the finished ones under-count stalls; weighted, they should not.
    n = 20_000
    start = pd.Timestamp("2024-01-01", tz="UTC")
    created = start + pd.to_timedelta(rng.uniform(0, 10, n), unit="D")
    took = pd.to_timedelta(rng.exponential(3.0, n), unit="D")
    stalled = took > pd.Timedelta(days=4)
    outcomes = pd.DataFrame(
        {
            "created_at": created,
            "outcome_at": created + took,
            "stalled": pd.array(stalled, dtype="boolean"),
        },
        index=[f"t{i}" for i in range(n)],
    )
    window = pd.Series(True, index=outcomes.index)
    known_at = start + pd.Timedelta(days=14)

    weights = censoring_weights(outcomes, window=window, known_at=known_at)

    seen = outcomes.loc[weights.index, "stalled"].to_numpy(dtype=float)
    truth = float(stalled.mean())  # exp(-4/3) = 0.264 in expectation
    assert abs(seen.mean() - truth) > 0.05  # the bias the weights undo
    assert np.average(seen, weights=weights.to_numpy()) == pytest.approx(
        truth, abs=0.015
    )
