"""Canonical events: what a kind implies when the sender leaves fields out."""

from __future__ import annotations

import pandas as pd

from features.events import conform_events


def test_conform_events_infers_status_and_role_from_kind() -> None:
    rows = pd.DataFrame(
        {
            "event_id": [f"e{i}" for i in range(6)],
            "ticket_id": "T",
            "occurred_at": pd.date_range("2024-01-01", periods=6, freq="h", tz="UTC"),
            "kind": ["created", "customer_message", "agent_reply", "merged",
                     "reopened", "resolved"],
            "status": [None, None, None, None, None, "closed"],
            "actor_role": [None, None, None, None, "customer", None],
        }
    )  # fmt: skip

    out = conform_events(rows)

    assert out["status"].tolist()[3:] == ["closed", "open", "closed"]
    assert out["status"].isna().tolist()[:3] == [True, True, True]
    assert out["actor_role"].tolist() == [
        "agent",
        "customer",
        "agent",
        "agent",
        "customer",
        "agent",
    ]


def test_conform_events_orders_same_instant_by_sequence_then_id() -> None:
    at = pd.Timestamp("2024-01-01T10:00Z")
    rows = pd.DataFrame(
        {
            "event_id": ["b", "a", "c"],
            "ticket_id": "T",
            "occurred_at": [at, at, at],
            "kind": "internal_note",
            "seq": [0, 0, -1],
        }
    )

    assert conform_events(rows)["event_id"].tolist() == ["c", "a", "b"]
