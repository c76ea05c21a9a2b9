"""Hand-worked cases for the time-to-breach hazard model and its measures."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pytest

from features.sla.desk import load_desk
from tests.conftest import EventMaker, frame
from training.time_to_breach import (
    expand_person_period,
    fit_hazard,
    matrix_codes,
    survival_quantiles,
    thin_moments,
)
from training.time_to_breach_data import (
    business_hours,
    outcome_times,
    resolution_instants,
)
from training.time_to_breach_metrics import baseline_quantiles, interval_metrics

EDGES = np.array([1.0, 2.0, 3.0, 4.0])


def test_expand_person_period_event_ends_in_its_bin() -> None:
    rows, bins, labels = expand_person_period(np.array([2.5]), np.array([True]), EDGES)

    # 2.5 h lies in (2, 3]: survived bins 0 and 1, the outcome in bin 2.
    assert rows.tolist() == [0, 0, 0]
    assert bins.tolist() == [0, 1, 2]
    assert labels.tolist() == [0, 0, 1]


def test_expand_person_period_censored_rows_only_survive() -> None:
    hours = np.array([1.0, 3.0, 0.5])
    rows, bins, labels = expand_person_period(hours, np.zeros(3, bool), EDGES)

    # Censored at 1 h: bin 0 survived whole; at 3 h: bins 0-2; at 0.5 h: none.
    assert rows.tolist() == [0, 1, 1, 1]
    assert bins.tolist() == [0, 0, 1, 2]
    assert labels.sum() == 0


def test_expand_person_period_edge_and_beyond_horizon() -> None:
    hours = np.array([2.0, 9.0, 0.0])
    rows, bins, labels = expand_person_period(hours, np.ones(3, bool), EDGES)

    # 2 h exactly closes bin 1; 9 h is past the 4 h horizon, so it survives
    # all four bins with no outcome; 0 h is an outcome in the first bin.
    assert list(zip(rows.tolist(), bins.tolist(), labels.tolist(), strict=True)) == [
        (0, 0, 0),
        (0, 1, 1),
        (1, 0, 0),
        (1, 1, 0),
        (1, 2, 0),
        (1, 3, 0),
        (2, 0, 1),
    ]


@pytest.mark.parametrize("hazard", [0.1, 0.03, 0.25])
def test_survival_quantiles_constant_hazard_matches_closed_form(hazard: float) -> None:
    edges = np.arange(1.0, 201.0)
    survival = np.cumprod(np.full((1, 200), 1.0 - hazard), axis=1)

    stepped = survival_quantiles(survival, edges, [0.5, 0.9], interpolate=False)
    smooth = survival_quantiles(survival, edges, [0.5, 0.9])

    median = math.ceil(math.log(0.5) / math.log(1.0 - hazard))
    p90 = math.ceil(math.log(0.1) / math.log(1.0 - hazard))
    assert stepped[0].tolist() == [median, p90]
    assert median - 1 < smooth[0, 0] <= median
    assert p90 - 1 < smooth[0, 1] <= p90


def test_survival_quantiles_interpolates_inside_a_bin() -> None:
    # S falls from 1 to 0.8 in (0, 10], then to 0.3 in (10, 30]; the median
    # (S = 0.5) is 3/5 of the way through the second bin: 10 + 0.6 * 20 = 22.
    survival = np.array([[0.8, 0.3]])

    values = survival_quantiles(survival, np.array([10.0, 30.0]), [0.5, 0.9])

    assert values[0, 0] == pytest.approx(22.0)
    # S never reaches 0.1: the horizon is reported.
    assert values[0, 1] == 30.0


def test_interval_metrics_hand_example() -> None:
    truth = np.array([10.0, 20.0, 40.0])
    predicted = np.array([[5.0, 12.0, 15.0], [10.0, 18.0, 30.0], [1.0, 4.0, 8.0]])

    scores = interval_metrics(truth, predicted)

    # Errors 2, 2, 36; the first two truths are inside their intervals.
    assert scores == {
        "mae_hours": pytest.approx(40.0 / 3.0),
        "median_ae_hours": 2.0,
        "coverage": pytest.approx(2.0 / 3.0),
    }


def test_interval_metrics_weights_count_each_ticket_once() -> None:
    truth = np.array([0.0, 0.0, 6.0])
    predicted = np.array([[0.0, 2.0, 9.0], [0.0, 2.0, 9.0], [0.0, 0.0, 1.0]])

    scores = interval_metrics(truth, predicted, np.array([0.5, 0.5, 1.0]))

    # Ticket A (two moments, error 2 each) and ticket B (error 6) weigh 1 each.
    assert scores["mae_hours"] == pytest.approx(4.0)
    assert scores["coverage"] == pytest.approx(0.5)


def test_baseline_quantiles_fall_back_to_coarser_keys() -> None:
    train = pd.DataFrame(
        {"n_events": [1, 1, 1, 2, 2], "activity": ["a", "a", "a", "b", "c"]}
    )
    hours = np.array([1.0, 2.0, 3.0, 10.0, 20.0])
    test = pd.DataFrame({"n_events": [1, 2, 7], "activity": ["a", "x", "a"]})

    got = baseline_quantiles(train, hours, test, [0.5])

    # (1, a) -> median of 1, 2, 3; (2, x) unseen -> n_events 2: median of
    # 10, 20; n_events 7 unseen -> every training row: median 3.
    assert got[:, 0].tolist() == [2.0, 15.0, 3.0]


def test_matrix_codes_categories_become_codes_and_missing_nan() -> None:
    matrix = pd.DataFrame(
        {
            "group": pd.Categorical(["b", None, "a"], categories=["a", "b"]),
            "age_hours": [1.5, 2.0, np.nan],
        }
    )

    codes = matrix_codes(matrix)

    np.testing.assert_array_equal(
        codes, np.array([[1.0, 1.5], [np.nan, 2.0], [0.0, np.nan]])
    )


def _weekday_desk() -> object:
    return load_desk(
        {
            "name": "test-desk",
            "response_kinds": ["agent_reply"],
            "calendars": [
                {
                    "version": "office",
                    "effective_from": "2000-01-01T00:00:00+00:00",
                    "timezone": "UTC",
                    "week": {d: [["09:00", "17:00"]] for d in ("mon", "tue", "wed")}
                    | {d: [["09:00", "17:00"]] for d in ("thu", "fri")},
                }
            ],
            "policies": {
                "version": "p",
                "policies": [{"name": "all", "match": {}, "resolution_minutes": 600}],
            },
        }
    )


def test_business_hours_skip_nights_and_weekends() -> None:
    desk = _weekday_desk()
    start = pd.Series(pd.to_datetime(["2026-12-04T16:00:00Z"], utc=True))
    end = pd.Series(pd.to_datetime(["2026-12-07T10:30:00Z"], utc=True))

    hours = business_hours(start, end, start, desk=desk)  # type: ignore[arg-type]

    # Friday 16:00-17:00, then Monday 09:00-10:30: 2.5 business hours.
    assert hours.tolist() == [2.5]


def test_outcome_times_breach_resolution_and_censoring(event: EventMaker) -> None:
    events = frame(
        [
            event("A", "2026-12-01T09:00Z", "created", status="open"),
            event("A", "2026-12-01T12:00Z", "resolved", status="resolved"),
            event("B", "2026-12-01T09:00Z", "created", status="open"),
            event("B", "2026-12-02T15:00Z", "resolved", status="resolved"),
            event("C", "2026-12-01T10:00Z", "created", status="open"),
        ]
    )
    at = pd.to_datetime(["2026-12-01T10:00Z"] * 3, utc=True)
    snapshots = pd.DataFrame(
        {
            "ticket_id": ["A", "B", "C"],
            "at": at,
            "breached_at": pd.to_datetime([None, "2026-12-01T14:00Z", None], utc=True),
        }
    )
    created = pd.Series(
        pd.to_datetime(["2026-12-01T09:00Z"] * 2 + ["2026-12-01T10:00Z"], utc=True),
        index=["A", "B", "C"],
    )

    times = outcome_times(
        snapshots,
        resolution_instants(events),
        created,
        desk=_weekday_desk(),  # type: ignore[arg-type]
        censor_at=pd.Timestamp("2026-12-02T11:00Z"),
    )

    # A resolves 2 h later; B breaches at 14:00 (4 h) before resolving;
    # C is still open at the censoring instant: Tue 10-17 (7 h) + Wed 9-11 (2 h).
    assert times["ttb_hours"].tolist() == [2.0, 4.0, 9.0]
    assert times["ttb_observed"].tolist() == [True, True, False]
    assert times["ttb_kind"].tolist() == ["resolution", "breach", ""]


def test_thin_moments_keeps_first_moment_and_caps_per_ticket() -> None:
    rows = pd.DataFrame(
        {
            "ticket_id": ["A"] * 10 + ["B"] * 2,
            "first_moment": [True] + [False] * 9 + [True, False],
        }
    )

    kept = thin_moments(rows, per_ticket=3)

    assert kept["ticket_id"].value_counts().to_dict() == {"A": 3, "B": 2}
    assert kept["first_moment"].sum() == 2
    assert kept.index.is_monotonic_increasing


def test_resolution_instants_each_entry_into_done(event: EventMaker) -> None:
    events = frame(
        [
            event("A", "2026-12-01T09:00Z", "created", status="open"),
            event("A", "2026-12-01T10:00Z", "resolved", status="resolved"),
            event("A", "2026-12-01T11:00Z", "closed", status="closed"),
            event("A", "2026-12-01T12:00Z", "reopened", status="open"),
            event("A", "2026-12-01T13:00Z", "resolved", status="resolved"),
        ]
    )

    got = resolution_instants(events)

    # Resolved -> closed is no new entry; the reopen makes the second one.
    assert got["resolved_at"].tolist() == [
        pd.Timestamp(datetime(2026, 12, 1, 10, tzinfo=UTC)),
        pd.Timestamp(datetime(2026, 12, 1, 13, tzinfo=UTC)),
    ]


def _exponential(
    rng: np.random.Generator, n: int = 2_000
) -> tuple[np.ndarray, np.ndarray]:
    """Exponential times (median 10 h) censored uniformly in [0, 30] h."""
    truth = rng.exponential(10.0 / math.log(2.0), n)
    censor = rng.uniform(0.0, 30.0, n)
    return np.minimum(truth, censor), truth <= censor


def _fitted_quantiles(hours: np.ndarray, observed: np.ndarray) -> np.ndarray:
    n = len(hours)
    model = fit_hazard(
        np.zeros((n, 1)),
        hours,
        observed,
        np.ones(n),
        validation=np.arange(n) % 5 == 0,
        features=["constant"],
        categorical=[],
        params={"min_data_in_leaf": 20, "num_threads": 1},
        rounds=60,
    )
    return model.quantiles(np.zeros((1, 1)))[0]


def _life_table_median(hours: np.ndarray, observed: np.ndarray) -> float:
    """Kaplan-Meier median, computed directly from the sorted times."""
    survival = 1.0
    for i, index in enumerate(np.argsort(hours)):
        if observed[index]:
            survival *= 1.0 - 1.0 / (len(hours) - i)
        if survival <= 0.5:
            return float(hours[index])
    raise AssertionError("the curve never reaches one half")


def test_fit_hazard_censored_moments_recover_the_true_median(
    rng: np.random.Generator,
) -> None:
    hours, observed = _exponential(rng)

    kept = _fitted_quantiles(hours, observed)
    dropped = _fitted_quantiles(hours[observed], observed[observed])

    # The hazard model with censored moments agrees with Kaplan-Meier on the
    # same data, and both are near the true median of 10 h.
    assert kept[0] == pytest.approx(_life_table_median(hours, observed), rel=0.05)
    assert kept[0] == pytest.approx(10.0, rel=0.1)
    # Dropping the censored leaves the short times only: the median shrinks
    # to the median of an exponential density times P(C >= t) = 1 - t / 30,
    # 5.50 h by numerical integration.
    assert dropped[0] == pytest.approx(5.5, rel=0.15)
    assert kept[1] > dropped[1]
