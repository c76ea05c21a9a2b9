"""Managers' "not a stall" verdicts as training labels.

A manager who marks a flagged ticket "not a stall" says its breach was not a
stall the desk could have prevented (a planned wait, a wrong priority). With
``stallwatch train --feedback-labels`` those tickets count as not stalled.
"""

from __future__ import annotations

from collections.abc import Collection

import pandas as pd


def apply_feedback_labels(
    snapshots: pd.DataFrame, outcomes: pd.DataFrame, not_a_stall: Collection[str]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Label the tickets a manager marked "not a stall" as not stalled.

    Only tickets whose outcome is known are relabelled; a ticket still open
    (censored) stays censored, since its outcome is not known yet.

    Parameters
    ----------
    snapshots : DataFrame
        Labelled moments from :func:`training.dataset.build_snapshots`
        (``ticket_id``, ``stalled``).
    outcomes : DataFrame
        Per ticket, indexed by ``ticket_id``: ``stalled``, ``outcome_at``,
        ``breached_at``, ``closed_at``.
    not_a_stall : collection of str
        Ticket ids with a "not a stall" verdict.

    Returns
    -------
    snapshots, outcomes : DataFrame
        Copies with ``stalled`` set to False for those tickets; in
        ``outcomes`` the outcome becomes known at the ticket's close.
    """
    wanted = set(not_a_stall)
    outcomes = outcomes.copy()
    known = outcomes["stalled"].notna() & outcomes["closed_at"].notna()
    flip = outcomes.index.isin(list(wanted)) & known.to_numpy()
    outcomes.loc[flip, "stalled"] = False
    outcomes.loc[flip, "outcome_at"] = outcomes.loc[flip, "closed_at"]
    flipped = set(outcomes.index[flip])
    snapshots = snapshots.copy()
    rows = snapshots["ticket_id"].isin(list(flipped)).to_numpy()
    snapshots.loc[rows, "stalled"] = False
    return snapshots, outcomes
