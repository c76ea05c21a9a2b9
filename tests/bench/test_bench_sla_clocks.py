"""The bench's open backlog keeps the real tickets' shape when replicated."""

from __future__ import annotations

import pandas as pd

from bench.sla_clocks import replicate_open


def _open_life(ticket: pd.DataFrame) -> pd.DataFrame:
    """A ticket's events before it is first resolved or closed, by a plain loop."""
    cut = None
    for at, status in zip(ticket["occurred_at"], ticket["status"], strict=True):
        if status in ("resolved", "closed") and (cut is None or at < cut):
            cut = at
    return ticket if cut is None else ticket[ticket["occurred_at"] < cut]


def test_replicate_open_copies_open_lives_with_shifted_weeks(
    uci_events: pd.DataFrame,
) -> None:
    first = uci_events["ticket_id"].drop_duplicates().iloc[:40]
    events = uci_events[uci_events["ticket_id"].isin(first)]
    lives = {t: _open_life(part) for t, part in events.groupby("ticket_id")}
    with_life = [t for t, life in lives.items() if not life.empty]

    backlog = replicate_open(events, 100)

    assert backlog["ticket_id"].nunique() == 100
    # Copy 0 of every ticket with an open life comes first, then copy 1, ...
    per_copy = len(with_life)
    assert backlog["ticket_id"].str.endswith("-0").sum() > 0
    for ticket, part in backlog.groupby("ticket_id"):
        base, copy = str(ticket).rsplit("-", 1)
        original = lives[base]
        assert int(copy) <= 100 // per_copy
        assert len(part) == len(original)
        shifted = original["occurred_at"] + pd.Timedelta(weeks=int(copy))
        assert part["occurred_at"].tolist() == shifted.tolist()
        assert part["kind"].tolist() == original["kind"].tolist()
        assert part["status"].fillna("-").tolist() == (
            original["status"].fillna("-").tolist()
        )
    assert not backlog["status"].isin(["resolved", "closed"]).any()
