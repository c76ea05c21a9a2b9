"""As-of features: values worked out by hand, and no look into the future."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from features.asof import FEATURES, event_states, features_at, open_tickets_at
from tests.conftest import EventMaker, frame


@pytest.fixture
def tiny(event: EventMaker) -> pd.DataFrame:
    day = "2024-01-01T"
    return frame(
        [
            event("B", day + "07:00Z", "created", actor="a1", requester="R1",
                  group="G1", status="new", priority="low"),
            event("B", day + "12:00Z", "resolved", actor="a1", status="resolved"),
            event("A", day + "08:00Z", "created", actor="a1", requester="R1",
                  group="G1", status="new", priority="high", category="Network"),
            event("A", day + "09:00Z", "assigned", actor="a1", group="G2",
                  assignee="p2"),
            event("A", day + "10:00Z", "status_changed", actor="p2",
                  status="waiting_customer"),
            event("A", day + "14:00Z", "customer_message", actor="R1",
                  actor_role="customer", status="open"),
            event("A", day + "15:00Z", "assigned", actor="p2", group="G1"),
        ]
    )  # fmt: skip


def _at(ticket: str, at: str) -> pd.DataFrame:
    return pd.DataFrame({"ticket_id": [ticket], "at": [pd.Timestamp(at)]})


def test_features_at_match_hand_computed_values(tiny: pd.DataFrame) -> None:
    row = features_at(event_states(tiny), _at("A", "2024-01-01T16:00Z")).iloc[0]

    expected = {
        "age_hours": 8.0,
        "n_events": 5.0,
        "handoffs": 2.0,
        "group_returns": 1.0,
        "hours_since_last_handoff": 1.0,
        "distinct_groups": 2.0,
        "distinct_people": 3.0,
        "hours_status_new": 2.0,
        "hours_status_waiting_customer": 4.0,
        "hours_status_open": 2.0,
        "hours_waiting": 4.0,
        "hours_in_current_status": 2.0,
        "agent_actions": 3.0,
        "hours_since_agent_action": 1.0,
        "customer_messages": 1.0,
        "hours_since_customer_message": 2.0,
        "priority_rank": 2.0,
        "requester_prior_tickets": 1.0,
        "group_load": 1.0,
        "has_assignee": 1.0,
        "hour_of_day": 16.0,
    }
    got = {name: float(row[name]) for name in expected}
    assert got == pytest.approx(expected)
    assert (row["group"], row["status"], row["category"]) == ("G1", "open", "Network")


def test_features_at_mid_life_sees_only_the_past(tiny: pd.DataFrame) -> None:
    row = features_at(event_states(tiny), _at("A", "2024-01-01T11:00Z")).iloc[0]

    assert row["group"] == "G2"
    assert row["status"] == "waiting_customer"
    assert row["handoffs"] == 1
    assert row["hours_status_waiting_customer"] == pytest.approx(1.0)
    assert np.isnan(row["hours_since_customer_message"])
    # G2 holds only A at 11:00; B (G1) is still open until 12:00.
    assert row["group_load"] == 1


def test_open_tickets_at_leaves_out_resolved_and_unborn(tiny: pd.DataFrame) -> None:
    states = event_states(tiny)

    assert open_tickets_at(states, pd.Timestamp("2024-01-01T07:30Z"))[
        "ticket_id"
    ].tolist() == ["B"]
    assert open_tickets_at(states, pd.Timestamp("2024-01-01T13:00Z"))[
        "ticket_id"
    ].tolist() == ["A"]


def test_features_at_ignores_appended_future_events(
    tiny: pd.DataFrame, event: EventMaker
) -> None:
    moments = pd.DataFrame(
        {
            "ticket_id": ["A"] * 4,
            "at": pd.to_datetime(
                ["2024-01-01T08:00Z", "2024-01-01T09:30Z", "2024-01-01T12:00Z",
                 "2024-01-01T15:00Z"]
            ),
        }
    )  # fmt: skip
    before = features_at(event_states(tiny), moments)
    future = frame(
        [
            event("A", "2024-01-01T15:30Z", "assigned", actor="x", group="G3"),
            event("A", "2024-01-02T09:00Z", "sla_breached", actor_role="system"),
            event("A", "2024-01-03T09:00Z", "resolved", status="resolved"),
            event("C", "2024-01-01T08:30Z", "created", group="G1", requester="R1"),
        ]
    )
    after = features_at(event_states(pd.concat([tiny, future])), moments)

    # C is created at 08:30 and changes only the later desk-wide context.
    later = before["at"] >= pd.Timestamp("2024-01-01T08:30Z")
    own = [f for f in FEATURES if f not in ("group_load", "requester_prior_tickets")]
    pd.testing.assert_frame_equal(before[own], after[own])
    pd.testing.assert_frame_equal(before[~later], after[~later])


def test_features_at_real_log_unchanged_by_later_events(
    uci_events: pd.DataFrame,
) -> None:
    cut = pd.Timestamp("2016-03-03T12:00Z")
    past = uci_events[uci_events["occurred_at"] <= cut]
    states_past = event_states(past)
    moments = states_past[["ticket_id"]].copy()
    moments["at"] = pd.to_datetime(states_past["t_ns"].astype("int64"), utc=True)

    from_past = features_at(states_past, moments)
    from_all = features_at(event_states(uci_events), moments)

    assert len(from_past) > 1_000
    pd.testing.assert_frame_equal(from_past, from_all)
