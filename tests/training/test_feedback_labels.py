"""Managers' "not a stall" verdicts override training labels of finished tickets."""

from __future__ import annotations

import pandas as pd

from training.dataset import build_snapshots
from training.feedback import apply_feedback_labels


def test_apply_feedback_labels_flips_only_finished_marked_tickets(
    uci_events: pd.DataFrame,
) -> None:
    tickets = uci_events["ticket_id"].drop_duplicates().iloc[:300]
    events = uci_events[uci_events["ticket_id"].isin(tickets)]
    # Cut the log short so that some tickets are still open (censored).
    events = events[events["occurred_at"] <= events["occurred_at"].quantile(0.8)]
    snapshots, outcomes = build_snapshots(events)
    stalled = outcomes.index[(outcomes["stalled"] == True).fillna(False)]  # noqa: E712
    finished = [t for t in stalled if pd.notna(outcomes.loc[t, "closed_at"])][:3]
    censored = outcomes.index[outcomes["stalled"].isna()][:1].tolist()
    assert len(finished) == 3 and len(censored) == 1

    new_rows, new_outcomes = apply_feedback_labels(
        snapshots, outcomes, [*finished, *censored, "NOT-A-TICKET"]
    )

    assert new_outcomes.loc[finished, "stalled"].tolist() == [False] * 3
    assert (
        new_outcomes.loc[finished, "outcome_at"].tolist()
        == outcomes.loc[finished, "closed_at"].tolist()
    )
    assert new_outcomes.loc[censored, "stalled"].isna().all()
    marked = new_rows["ticket_id"].isin(finished)
    assert marked.sum() == snapshots["ticket_id"].isin(finished).sum() > 0
    assert not new_rows.loc[marked, "stalled"].any()
    # Everything else is as before, and the inputs are left alone.
    others = ~outcomes.index.isin(finished)
    pd.testing.assert_series_equal(
        new_outcomes.loc[others, "stalled"], outcomes.loc[others, "stalled"]
    )
    pd.testing.assert_series_equal(
        new_rows.loc[~marked, "stalled"], snapshots.loc[~marked, "stalled"]
    )
    assert outcomes.loc[finished, "stalled"].tolist() == [True] * 3
