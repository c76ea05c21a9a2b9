"""Reasons read from real as-of rows: exact sentences, one per family."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest

from features.asof import FEATURES, event_states, features_at
from features.sla.desk import load_desk_file
from features.sla.features import SLA_FEATURES
from features.sla.table import clock_history_frame
from models.backlog import with_clocks
from models.reasons import FAMILIES, explain, family_of
from tests.conftest import REPO, EventMaker, frame
from training.text import N_COMPONENTS, fit_topic_text, text_columns

_WORDS = ("printer", "toner", "vpn", "laptop", "mail", "login", "screen", "disk")
HELPDESK = REPO / "features" / "sla" / "desks" / "helpdesk.yaml"


def _rows(events: list[dict[str, Any]], at: str, desk: Path = HELPDESK) -> pd.DataFrame:
    """Build the scorer's rows (features and clocks) as the backlog does."""
    canonical = frame(events)
    states = event_states(canonical)
    tickets = canonical["ticket_id"].drop_duplicates()
    moments = pd.DataFrame({"ticket_id": tickets, "at": pd.Timestamp(at)})
    rows = features_at(states, moments)
    history, calendars = clock_history_frame(load_desk_file(desk), canonical)
    return with_clocks(rows, history, calendars)


def _ping_pong(event: EventMaker) -> list[dict[str, Any]]:
    """Service Desk -> Network -> Service Desk, in Rome office hours (UTC+1)."""
    common = {"priority": "moderate", "category": "Network", "subcategory": "VPN"}
    return [
        event(
            "T1",
            "2026-03-02T08:00Z",
            "created",
            actor_role="customer",
            group="Service Desk",
            status="new",
            **common,
        ),
        event("T1", "2026-03-02T09:00Z", "assigned", group="Network", status="open"),
        event("T1", "2026-03-02T15:00Z", "assigned", group="Service Desk"),
    ]


def _contributions(features: list[str], **pushes: float) -> np.ndarray:
    return np.array([pushes.get(name, 0.0) for name in features])


def test_reasons_ping_pong_ticket_reads_in_business_hours(event: EventMaker) -> None:
    # Wed 11:00 Rome. Since the return at Mon 16:00 Rome: Mon 16-18, Tue 9-13
    # and 14-18, Wed 9-11 = 2 + 8 + 2 = 12 business hours (43 wall hours), of
    # the 40-hour next-response target: 30 %, 28 business hours left.
    row = _rows(_ping_pong(event), "2026-03-04T10:00Z").iloc[0].to_dict()
    assert row["hours_since_agent_action"] == 43.0
    features = ["handoffs", "group_returns", "group", "sla_next_response_used"]
    pushes = _contributions(
        features,
        handoffs=0.4,
        group_returns=0.3,
        group=0.1,
        sla_next_response_used=0.5,
    )

    reasons = explain(row, pushes, features)

    assert [(r.family, r.text, r.contribution) for r in reasons] == [
        (
            "handoffs",
            "returned to Service Desk after two hand-offs through one other "
            "team, the last 43 hours ago",
            0.8,
        ),
        (
            "sla",
            "no agent response for 12 business hours (30 % of the next-response "
            "target), next SLA deadline in 28 business hours",
            0.5,
        ),
    ]


@pytest.mark.parametrize(
    ("path", "sentence"),
    [
        (
            ("Service Desk", "Network", "Database", "Service Desk"),
            "returned to Service Desk after three hand-offs through two other "
            "teams, the last 2 hours ago",
        ),
        # The same counts (3 hand-offs, 3 teams, 1 return), but Service Desk
        # is new to this ticket: the return was Network's.
        (
            ("Network", "Database", "Network", "Service Desk"),
            "passed back and forth: three hand-offs among three teams, one of "
            "them back to a team it had left; now with Service Desk, the last "
            "2 hours ago",
        ),
    ],
)
def test_reasons_handoff_sentence_follows_the_path(
    event: EventMaker, path: tuple[str, ...], sentence: str
) -> None:
    events = [event("T4", "2026-03-02T08:00Z", "created", group=path[0], status="new")]
    events += [
        event("T4", f"2026-03-02T{9 + i:02d}:00Z", "assigned", group=group)
        for i, group in enumerate(path[1:])
    ]
    row = _rows(events, "2026-03-02T13:00Z").iloc[0].to_dict()
    assert (row["handoffs"], row["group_returns"], row["distinct_groups"]) == (
        3.0,
        1.0,
        3.0,
    )
    features = ["handoffs", "distinct_groups"]

    reasons = explain(row, _contributions(features, handoffs=0.3), features)

    assert [r.text for r in reasons] == [sentence]


def test_reasons_waiting_customer_counts_days_and_pauses_clocks(
    event: EventMaker,
) -> None:
    # The agent asked the customer at Mon 08:30 UTC; Thu 08:30 UTC is 72 h later.
    events = [
        event(
            "T2",
            "2026-03-02T08:00Z",
            "created",
            actor_role="customer",
            group="Service Desk",
            status="new",
            priority="moderate",
        ),
        event("T2", "2026-03-02T08:30Z", "agent_reply", status="waiting_customer"),
    ]
    row = _rows(events, "2026-03-05T08:30Z").iloc[0].to_dict()
    features = [
        "status",
        "hours_status_waiting_customer",
        "hours_waiting",
        "sla_paused",
    ]
    pushes = _contributions(
        features, status=0.2, hours_status_waiting_customer=0.3, sla_paused=0.1
    )

    reasons = explain(row, pushes, features)

    # 30 business minutes ran before the pause (09:00-09:30 Rome) of 7,200.
    assert [r.text for r in reasons] == [
        "waiting on the customer for 3 days",
        "resolution target under 1 % used (30 business minutes), clocks paused",
    ]
    assert reasons[0].family == "status"
    assert reasons[0].contribution == 0.5


def test_reasons_only_pushes_up_are_reasons(event: EventMaker) -> None:
    row = _rows(_ping_pong(event), "2026-03-04T10:00Z").iloc[0].to_dict()
    features = ["handoffs", "group_returns", "age_hours", "reopens", "channel"]
    pushes = _contributions(
        features, handoffs=0.6, group_returns=-0.7, age_hours=-0.2, reopens=0.05
    )

    reasons = explain(row, pushes, features)

    # Hand-offs net -0.1: it lowered the risk, so it is no reason to stall.
    assert [(r.family, r.text) for r in reasons] == [("reopens", "never reopened")]


def test_reasons_correlated_features_from_a_real_booster_speak_once(
    rng: np.random.Generator,
) -> None:
    # Hand-offs and returns move together; the label follows both.
    n = 400
    handoffs = rng.integers(0, 6, n).astype(float)
    returns = handoffs // 2 + rng.integers(0, 2, n)
    age = rng.uniform(0, 200, n)
    stalled = (handoffs + returns + rng.normal(0, 1, n) > 5).astype(int)
    matrix = pd.DataFrame(
        {"handoffs": handoffs, "group_returns": returns, "age_hours": age}
    )
    params = {
        "objective": "binary",
        "verbose": -1,
        "min_data_in_leaf": 5,
        "num_threads": 1,
    }
    booster = lgb.train(params, lgb.Dataset(matrix, stalled), num_boost_round=30)
    ticket = pd.DataFrame(
        {"handoffs": [5.0], "group_returns": [3.0], "age_hours": [10.0]}
    )
    raw = booster.predict(ticket, pred_contrib=True)[0]
    assert raw[0] != 0 and raw[1] != 0 and raw[0] + raw[1] > 0
    row = {
        **ticket.iloc[0].to_dict(),
        "distinct_groups": 3.0,
        "group": "Service Desk",
        "hours_since_last_handoff": 2.0,
    }

    reasons = explain(row, raw[:-1], list(matrix.columns), top=3)

    handoff = [r for r in reasons if r.family == "handoffs"]
    assert len(handoff) == 1
    assert handoff[0].contribution == pytest.approx(raw[0] + raw[1], abs=1e-4)
    assert handoff[0].text == (
        "passed back and forth: five hand-offs among three teams, three of them "
        "back to a team it had left; now with Service Desk, the last 2 hours ago"
    )
    # The contributions and the bias add up to the booster's log-odds.
    probability = booster.predict(ticket)[0]
    assert raw.sum() == pytest.approx(np.log(probability / (1 - probability)))


def test_reasons_every_pipeline_feature_has_a_family() -> None:
    texts = pd.DataFrame(
        {
            "ticket_id": [f"T{i}" for i in range(len(_WORDS) ** 2 * 3)],
            "topic": [
                f"{a} {b} {c}"
                for a in _WORDS
                for b in _WORDS
                for c in ("urgent", "slow", "broken")
            ],
        }
    )
    text = fit_topic_text(texts)
    produced = [*FEATURES, *SLA_FEATURES, *text_columns(text)]
    assert len(text_columns(text)) == N_COMPONENTS

    unclaimed = [name for name in produced if family_of(name) is None]
    claimed_twice = [
        name for name in produced if sum(f.holds(name) for f in FAMILIES) > 1
    ]

    assert unclaimed == []
    assert claimed_twice == []
    assert family_of("topic_text_11").name == "topic"
    assert family_of("sla_minutes_to_due").name == "sla"
    assert family_of("group").name == "handoffs"


def test_reasons_topic_columns_speak_as_one_topic() -> None:
    features = ["category", "topic_text_0", "topic_text_3"]
    row = {"category": "Network", "subcategory": None, "topic": "VPN drops"}
    pushes = _contributions(features, category=0.1, topic_text_0=0.2, topic_text_3=0.3)

    reasons = explain(row, pushes, features)

    assert [(r.family, r.text, r.contribution) for r in reasons] == [
        ("topic", 'about Network / "VPN drops"', 0.6)
    ]


def test_reasons_silent_ticket_past_its_first_response_target(
    event: EventMaker,
) -> None:
    # UCI desk: 24/7, first response within 1,440 minutes. Created Mon 08:00,
    # nobody acted; at Tue 14:00 that is 30 hours, 6 past the target.
    events = [
        event(
            "T3",
            "2026-03-02T08:00Z",
            "created",
            actor_role="customer",
            group="Service Desk",
            status="new",
            priority="moderate",
        )
    ]
    uci = REPO / "features" / "sla" / "desks" / "uci.yaml"
    row = _rows(events, "2026-03-03T14:00Z", desk=uci).iloc[0].to_dict()
    features = ["hours_since_agent_action", "has_assignee", "sla_breached_clocks"]
    pushes = _contributions(
        features,
        hours_since_agent_action=0.2,
        has_assignee=0.1,
        sla_breached_clocks=0.4,
    )

    reasons = explain(row, pushes, features)

    assert [(r.family, r.text) for r in reasons] == [
        ("sla", "first-response target breached, over by 6 business hours"),
        (
            "agent_silence",
            "no agent has acted since it was opened 30 hours ago, "
            "and no one is assigned",
        ),
    ]
