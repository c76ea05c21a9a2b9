"""Rolling-origin splits with a calibration window between training and test.

For a cut-off ``c`` and a gap ``g`` the timeline reads, oldest first::

    training tickets   | gap |  validation tickets  | gap |  test tickets
    created < t0       |     |  created [t0+g, c-g)  |     |  created [c, next c)
    outcomes known by t0 + g    outcomes known by c          and before end - g

Every part leaves its youngest tickets at least one gap to finish, so the
validation window sees the same kind of outcomes as training, not only the
quick ones, and the calibration map it fits carries over to the test window.
Test tickets created within one gap of the end of the data are left out for
the same reason.
Tickets whose outcome is not known by the part's horizon are censored and
dropped from the yes/no label, never counted as "did not stall".
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from training.split import rolling_splits


@dataclass(frozen=True)
class EvaluationSplit:
    """One cut-off of the evaluation: the three ticket sets and their dates."""

    cutoff: pd.Timestamp
    test_end: pd.Timestamp
    train_end: pd.Timestamp
    train_known_at: pd.Timestamp
    validation_start: pd.Timestamp
    validation_end: pd.Timestamp
    validation_known_at: pd.Timestamp
    train: frozenset[str]
    validation: frozenset[str]
    test: frozenset[str]
    validation_censored_share: float = 0.0
    validation_weight: pd.Series = field(
        default_factory=lambda: pd.Series(dtype=float), compare=False, hash=False
    )

    def describe(self) -> dict[str, str | int | float]:
        """Return the split's dates and sizes, for the report and MLflow."""
        return {
            "cutoff": self.cutoff.isoformat(),
            "test_end": self.test_end.isoformat(),
            "train_end": self.train_end.isoformat(),
            "train_known_at": self.train_known_at.isoformat(),
            "validation_start": self.validation_start.isoformat(),
            "validation_end": self.validation_end.isoformat(),
            "validation_known_at": self.validation_known_at.isoformat(),
            "train_tickets": len(self.train),
            "validation_tickets": len(self.validation),
            "test_tickets": len(self.test),
            "validation_censored_share": self.validation_censored_share,
        }


def _known_by(outcomes: pd.DataFrame, moment: pd.Timestamp) -> pd.Series:
    """Tickets whose outcome was known at ``moment``."""
    return outcomes["stalled"].notna() & (outcomes["outcome_at"] <= moment)


def censoring_weights(
    outcomes: pd.DataFrame,
    *,
    window: pd.Series,
    known_at: pd.Timestamp,
    cap: float = 20.0,
) -> pd.Series:
    """Weight each finished ticket of a window by one over its chance to be seen.

    A ticket whose outcome took ``tau`` is seen by ``known_at`` only if it was
    created by ``known_at - tau``; among the window's tickets that share is
    ``P(tau)``. Weighting a seen ticket by ``1 / P(tau)`` undoes the window's
    tilt towards quick outcomes (inverse probability of censoring weights),
    for every ``tau`` the window can show at all.

    Parameters
    ----------
    outcomes : DataFrame
        Per ticket, with ``created_at``, ``outcome_at`` and ``stalled``.
    window : Series of bool
        The window's tickets, finished or not.
    known_at : Timestamp
        The horizon up to which outcomes are seen.
    cap : float
        Largest weight, so a few rare long tickets do not dominate.

    Returns
    -------
    Series
        Weight per seen ticket of the window (index: ticket id).
    """
    created = outcomes.loc[window, "created_at"].sort_values()
    seen = outcomes.loc[window & _known_by(outcomes, known_at)]
    if seen.empty:
        return pd.Series(dtype=float)
    latest_creation = known_at - (seen["outcome_at"] - seen["created_at"])
    could_see = np.searchsorted(created.to_numpy(), latest_creation.to_numpy(), "right")
    share = could_see / len(created)
    return pd.Series(1.0 / np.maximum(share, 1.0 / cap), index=seen.index)


def evaluation_splits(
    outcomes: pd.DataFrame,
    *,
    n_cutoffs: int = 3,
    gap: pd.Timedelta,
    validation_share: float = 0.25,
    test_share: float = 0.45,
) -> list[EvaluationSplit]:
    """Cut tickets into training, validation and test sets for each cut-off.

    Parameters
    ----------
    outcomes : DataFrame
        From :func:`training.dataset.ticket_outcomes`, indexed by ticket.
    n_cutoffs : int
        Number of consecutive test windows (the same windows as
        :func:`training.split.rolling_splits`).
    gap : Timedelta
        At least the longest SLA horizon; separates each part from the next.
    validation_share : float
        Share of the tickets created before ``cutoff - gap`` that fall in the
        validation window (by creation time).
    test_share : float
        Share of all tickets, by creation, in the test windows together.
    """
    if n_cutoffs < 1:
        raise ValueError(f"n_cutoffs={n_cutoffs}: expected at least 1")
    if not 0.0 < validation_share < 1.0:
        raise ValueError(f"validation_share={validation_share}: expected in (0, 1)")
    created = outcomes["created_at"]
    young = frozenset(outcomes.index[created >= data_end(outcomes) - gap])
    return [
        _before(
            outcomes,
            cutoff=base.cutoff,
            test_end=base.test_end,
            test=base.test - young,
            gap=gap,
            validation_share=validation_share,
        )
        for base in rolling_splits(
            outcomes, n_cutoffs=n_cutoffs, gap=gap, test_share=test_share
        )
    ]


def data_end(outcomes: pd.DataFrame) -> pd.Timestamp:
    """Return the latest creation or outcome instant: where the data stops."""
    return max(outcomes["created_at"].max(), outcomes["outcome_at"].max())


def served_split(
    outcomes: pd.DataFrame, *, gap: pd.Timedelta, validation_share: float = 0.25
) -> EvaluationSplit:
    """Split all history for the served model: the future is its test window.

    The same protocol as :func:`evaluation_splits` with the cut-off at the end
    of the data: the calibration window ends one gap before it, and training
    one more gap before the window. The returned split's test set is empty.
    """
    end = data_end(outcomes)
    return _before(
        outcomes,
        cutoff=end,
        test_end=end,
        test=frozenset(),
        gap=gap,
        validation_share=validation_share,
    )


def _before(
    outcomes: pd.DataFrame,
    *,
    cutoff: pd.Timestamp,
    test_end: pd.Timestamp,
    test: frozenset[str],
    gap: pd.Timedelta,
    validation_share: float,
) -> EvaluationSplit:
    """Place the validation window and training before ``cutoff``."""
    created = outcomes["created_at"]
    validation_end = cutoff - gap
    before = created[created < validation_end].sort_values()
    if before.empty:
        validation_start = validation_end
    else:
        position = int(len(before) * (1.0 - validation_share))
        validation_start = before.iloc[min(position, len(before) - 1)]
    window = (created >= validation_start) & (created < validation_end)
    train = (created < validation_start - gap) & _known_by(outcomes, validation_start)
    return EvaluationSplit(
        cutoff=cutoff,
        test_end=test_end,
        train_end=validation_start - gap,
        train_known_at=validation_start,
        validation_start=validation_start,
        validation_end=validation_end,
        validation_known_at=cutoff,
        train=frozenset(outcomes.index[train]),
        validation=frozenset(outcomes.index[window & _known_by(outcomes, cutoff)]),
        test=test,
        validation_censored_share=(
            float(1.0 - (window & _known_by(outcomes, cutoff)).sum() / window.sum())
            if window.any()
            else 0.0
        ),
        validation_weight=censoring_weights(outcomes, window=window, known_at=cutoff),
    )
