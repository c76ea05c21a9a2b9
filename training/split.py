"""Rolling-origin splits by time, whole tickets on one side, with a gap.

For each cut-off ``c`` the test tickets are those created in ``[c, next c)``.
Training sees only what was known at ``c - gap``: tickets created before then
whose outcome was already known then. A ticket still open at ``c - gap`` is
censored for that training set and left out, never counted as "did not stall".
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import pandas as pd

#: Default gap between training knowledge and a test window.
DEFAULT_GAP = pd.Timedelta(days=7)


@dataclass(frozen=True)
class Split:
    """One cut-off: which tickets train, validate and test."""

    cutoff: pd.Timestamp
    test_end: pd.Timestamp
    known_at: pd.Timestamp
    train: frozenset[str]
    validation: frozenset[str]
    test: frozenset[str]

    def describe(self) -> dict[str, str | int]:
        """Return the split's dates and sizes, for logging."""
        return {
            "cutoff": self.cutoff.isoformat(),
            "test_end": self.test_end.isoformat(),
            "known_at": self.known_at.isoformat(),
            "train_tickets": len(self.train),
            "validation_tickets": len(self.validation),
            "test_tickets": len(self.test),
        }


def rolling_splits(
    outcomes: pd.DataFrame,
    *,
    n_cutoffs: int = 3,
    test_share: float = 0.45,
    gap: pd.Timedelta = DEFAULT_GAP,
    validation_share: float = 0.2,
) -> list[Split]:
    """Cut the tickets into rolling train / validation / test sets by time.

    Parameters
    ----------
    outcomes : DataFrame
        From :func:`training.dataset.ticket_outcomes`, indexed by ticket.
    n_cutoffs : int
        Number of consecutive test windows.
    test_share : float
        Share of tickets, by creation order, in the test windows together.
    gap : Timedelta
        Time between the end of training knowledge and the test window; at
        least the longest SLA horizon.
    validation_share : float
        Share of each training set, latest by creation, held out for early
        stopping and calibration.
    """
    created = outcomes["created_at"].sort_values(kind="stable")
    edges = np.linspace(1.0 - test_share, 1.0, n_cutoffs + 1)
    bounds = [created.iloc[min(int(q * len(created)), len(created) - 1)] for q in edges]
    bounds[-1] = created.iloc[-1] + pd.Timedelta(seconds=1)
    known = outcomes["stalled"].notna()

    splits = []
    for start, end in itertools.pairwise(bounds):
        known_at = start - gap
        trainable = (
            (outcomes["created_at"] < known_at)
            & known
            & (outcomes["outcome_at"] <= known_at)
        )
        train_created = outcomes.loc[trainable, "created_at"].sort_values()
        n_val = int(len(train_created) * validation_share)
        validation = train_created.index[len(train_created) - n_val :]
        train = train_created.index[: len(train_created) - n_val]
        in_test = (
            (outcomes["created_at"] >= start) & (outcomes["created_at"] < end) & known
        )
        splits.append(
            Split(
                cutoff=start,
                test_end=end,
                known_at=known_at,
                train=frozenset(train),
                validation=frozenset(validation),
                test=frozenset(outcomes.index[in_test]),
            )
        )
    return splits


def final_split(
    outcomes: pd.DataFrame, *, validation_share: float = 0.2
) -> tuple[frozenset[str], frozenset[str]]:
    """Split every ticket with a known outcome into train and validation.

    The served model learns from all finished history; the latest tickets by
    creation are held out for early stopping and calibration.
    """
    created = outcomes.loc[outcomes["stalled"].notna(), "created_at"].sort_values()
    n_val = int(len(created) * validation_share)
    return (
        frozenset(created.index[: len(created) - n_val]),
        frozenset(created.index[len(created) - n_val :]),
    )
