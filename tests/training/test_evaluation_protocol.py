"""The evaluation's splits: train, then a gap, validation, a gap, then test."""

from __future__ import annotations

import pandas as pd
import pytest

from training.dataset import ticket_outcomes
from training.evaluation.protocol import evaluation_splits, served_split


@pytest.fixture(scope="module")
def outcomes(uci_events: pd.DataFrame) -> pd.DataFrame:
    return ticket_outcomes(uci_events)


def test_validation_window_lies_between_training_and_test_with_gaps(
    outcomes: pd.DataFrame,
) -> None:
    gap = pd.Timedelta(days=3)

    splits = evaluation_splits(outcomes, n_cutoffs=3, gap=gap)

    assert len(splits) == 3
    created, known = outcomes["created_at"], outcomes["outcome_at"]
    for s in splits:
        train, val, test = (list(p) for p in (s.train, s.validation, s.test))
        assert train and val and test
        # Creation order: train < t0, validation in [t0 + gap, cut - gap), test >= cut.
        assert created[train].max() < s.validation_start - gap
        assert created[val].min() >= s.validation_start
        assert created[val].max() < s.cutoff - gap
        assert created[test].min() >= s.cutoff
        # Labels: training outcomes known when validation opens, validation
        # outcomes known at the cut-off; nothing censored is labelled.
        assert known[train].max() <= s.validation_start
        assert known[val].max() <= s.cutoff
        assert outcomes.loc[[*train, *val, *test], "stalled"].notna().all()


def test_no_test_ticket_in_training_or_validation(outcomes: pd.DataFrame) -> None:
    splits = evaluation_splits(outcomes, n_cutoffs=3, gap=pd.Timedelta(days=3))

    for s in splits:
        assert not s.test & s.train
        assert not s.test & s.validation
        assert not s.train & s.validation


def test_youngest_test_tickets_are_left_out(outcomes: pd.DataFrame) -> None:
    gap = pd.Timedelta(days=3)
    end = max(outcomes["created_at"].max(), outcomes["outcome_at"].max())

    last = evaluation_splits(outcomes, n_cutoffs=3, gap=gap)[-1]

    assert outcomes.loc[list(last.test), "created_at"].max() < end - gap


def test_validation_weights_cover_exactly_the_validation_tickets(
    outcomes: pd.DataFrame,
) -> None:
    for s in evaluation_splits(outcomes, n_cutoffs=3, gap=pd.Timedelta(days=3)):
        assert set(s.validation_weight.index) == set(s.validation)
        assert s.validation_weight.min() >= 1.0


def test_evaluation_splits_refuse_bad_shares(outcomes: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match=r"validation_share=1\.5"):
        evaluation_splits(outcomes, gap=pd.Timedelta(days=3), validation_share=1.5)
    with pytest.raises(ValueError, match="n_cutoffs=0"):
        evaluation_splits(outcomes, gap=pd.Timedelta(days=3), n_cutoffs=0)


def test_served_split_puts_calibration_between_training_and_the_future(
    outcomes: pd.DataFrame,
) -> None:
    gap = pd.Timedelta(days=2)
    end = max(outcomes["created_at"].max(), outcomes["outcome_at"].max())

    split = served_split(outcomes, gap=gap)

    created, known = outcomes["created_at"], outcomes["outcome_at"]
    train, val = list(split.train), list(split.validation)
    assert created[train].max() < split.validation_start - gap
    assert known[train].max() <= split.validation_start
    assert created[val].min() >= split.validation_start
    assert created[val].max() < end - gap
    assert split.test == frozenset()
    assert not split.train & split.validation
