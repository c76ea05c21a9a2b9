"""The outbox on both stores: once per key, claims, backoff, dead letters."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pandas as pd
import pytest
import sqlalchemy as sa

from features.alerts.outbox import claim_due, list_alerts, outbox_rows, record_attempt
from features.alerts.store import AlertDecision, OutboxMessage, record_decisions
from features.alerts.tables import alerts_table, audit_table
from features.store import create_schema, make_engine, write_events
from models.alerts.delivery import Deliverer, DeliveryConfig
from tests.conftest import EventMaker, frame
from tests.models.alerts.conftest import Mailbox, make_stack

STORES = [
    pytest.param("sqlite_url", id="sqlite"),
    pytest.param("postgres_url", id="postgresql", marks=pytest.mark.postgres),
]
T0 = pd.Timestamp("2016-03-07T10:00Z").to_pydatetime()


def _decision(ticket: str, n_messages: int = 1) -> AlertDecision:
    return AlertDecision(
        ticket_id=ticket,
        rule="sla_breach",
        kind="alert",
        clock="resolution",
        cycle="resolution@2016-03-06T10:00:00Z",
        flag="red",
        urgent=True,
        why="sla_breach: resolution clock breached 1.0 h ago",
        messages=[
            OutboxMessage("email", f"r{i}", f"r{i}@example.invalid", "subject", "body")
            for i in range(n_messages)
        ],
    )


def _engine(request: pytest.FixtureRequest, store: str) -> Any:
    engine = make_engine(request.getfixturevalue(store))
    create_schema(engine)
    return engine


@pytest.mark.parametrize("store", STORES)
def test_record_decisions_same_key_twice_stores_once(
    store: str, request: pytest.FixtureRequest
) -> None:
    engine = _engine(request, store)
    first = record_decisions(engine, [_decision("A", 2)], now=T0)
    again = record_decisions(engine, [_decision("A", 2), _decision("B")], now=T0)

    assert len(first) == 1 and len(again) == 1
    assert [r["ticket_id"] for r in outbox_rows(engine)] == ["A", "A", "B"]
    with engine.connect() as conn:
        kinds = conn.execute(sa.select(audit_table.c.kind)).scalars().all()
    assert sorted(kinds) == ["alert", "alert"]


@pytest.mark.parametrize("store", STORES)
def test_deliver_transient_failures_back_off_then_dead_letter(
    store: str, request: pytest.FixtureRequest, smtp: tuple[Mailbox, int]
) -> None:
    mailbox, port = smtp
    mailbox.refusals = ["451 busy", "451 busy", "451 busy"]
    engine = _engine(request, store)
    record_decisions(engine, [_decision("A")], now=T0)
    config = DeliveryConfig(smtp_port=port, max_attempts=3)
    deliverer = Deliverer(engine, config)

    # Backoff 30 s, then 60 s; the third failure is the last attempt.
    assert deliverer.deliver_due(now=T0) == {"pending": 1}
    assert outbox_rows(engine)[0]["next_attempt_at"] == T0 + timedelta(seconds=30)
    assert deliverer.deliver_due(now=T0 + timedelta(seconds=29)) == {}
    assert deliverer.deliver_due(now=T0 + timedelta(seconds=30)) == {"pending": 1}
    assert outbox_rows(engine)[0]["next_attempt_at"] == T0 + timedelta(seconds=90)
    assert deliverer.deliver_due(now=T0 + timedelta(seconds=90)) == {"dead": 1}

    total, dead = list_alerts(engine, state="dead")
    assert total == 1
    assert dead[0]["deliveries"][0]["attempts"] == 3
    assert "451" in dead[0]["deliveries"][0]["last_error"]
    assert list_alerts(engine, state="pending")[0] == 0
    assert mailbox.messages == []


@pytest.mark.parametrize("store", STORES)
def test_deliver_permanent_refusal_is_dead_at_once(
    store: str, request: pytest.FixtureRequest, smtp: tuple[Mailbox, int]
) -> None:
    mailbox, port = smtp
    mailbox.refusals = ["550 no such mailbox"]
    engine = _engine(request, store)
    record_decisions(engine, [_decision("A")], now=T0)

    done = Deliverer(engine, DeliveryConfig(smtp_port=port)).deliver_due(now=T0)

    assert done == {"dead": 1}
    row = outbox_rows(engine)[0]
    assert (row["state"], row["attempts"]) == ("dead", 1)
    assert "550" in row["last_error"]


@pytest.mark.parametrize("store", STORES)
def test_claim_two_workers_at_once_never_share_a_message(
    store: str, request: pytest.FixtureRequest
) -> None:
    url = request.getfixturevalue(store)
    engine = make_engine(url)
    create_schema(engine)
    record_decisions(engine, [_decision(f"T{n}") for n in range(30)], now=T0)
    claims: list[list[int]] = [[], []]
    start = threading.Barrier(2)

    def work(slot: int) -> None:
        mine = make_engine(url)
        start.wait()
        for _ in range(5):
            got = claim_due(mine, now=T0, lease=timedelta(minutes=1), limit=4)
            claims[slot] += [m.id for m in got]
        mine.dispose()

    threads = [threading.Thread(target=work, args=(n,)) for n in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # A claim that loses a race returns fewer rows (on SQLite the loser's
    # candidates are already taken), so whatever the two left is claimed here.
    rest = [m.id for m in claim_due(engine, now=T0, lease=timedelta(minutes=1))]

    assert not set(claims[0]) & set(claims[1])
    assert not set(rest) & set(claims[0] + claims[1])
    every = sorted(r["id"] for r in outbox_rows(engine))
    assert sorted(claims[0] + claims[1] + rest) == every


@pytest.mark.parametrize("store", STORES)
def test_claim_after_lease_runs_out_is_in_doubt_and_old_claim_loses(
    store: str, request: pytest.FixtureRequest
) -> None:
    engine = _engine(request, store)
    record_decisions(engine, [_decision("A")], now=T0)
    lease = timedelta(seconds=60)

    (first,) = claim_due(engine, now=T0, lease=lease)
    assert claim_due(engine, now=T0 + timedelta(seconds=59), lease=lease) == []
    (second,) = claim_due(engine, now=T0 + timedelta(seconds=60), lease=lease)

    assert (first.in_doubt, second.in_doubt) == (False, True)
    assert (first.attempt, second.attempt) == (1, 2)
    assert record_attempt(engine, first, now=T0, error=None) == "lost_claim"
    assert record_attempt(engine, second, now=T0, error=None) == "sent"
    with engine.connect() as conn:
        kinds = conn.execute(
            sa.select(audit_table.c.kind).order_by(audit_table.c.id)
        ).scalars()
        assert list(kinds) == ["alert", "delivery_in_doubt", "delivery_attempt"]


@pytest.mark.parametrize("store", STORES)
def test_evaluate_twice_and_from_two_engines_fires_once_per_cycle(
    store: str,
    request: pytest.FixtureRequest,
    smtp: tuple[Mailbox, int],
    event: EventMaker,
) -> None:
    url = request.getfixturevalue(store)
    _, port = smtp
    one = make_stack(url, smtp_port=port)
    two = make_stack(url, smtp_port=port)
    created = [
        event("C1", "2016-03-07T10:00Z", "created", priority="low", group="G"),
        event("C1", "2016-03-07T10:30Z", "assigned", status="open"),
    ]
    write_events(one.engine, frame(created))
    # The next-response clock (24 h from 10:30) warns at 18 h: Tue 04:30.
    tue = pd.Timestamp("2016-03-08T05:00Z").to_pydatetime()

    one.alerts.evaluate(["C1"], at=tue)
    two.alerts.evaluate(["C1"], at=tue)
    one.alerts.evaluate(["C1"], at=tue + timedelta(minutes=5))
    # An agent action at 06:00 starts a new cycle, which warns again at 24:00.
    write_events(one.engine, frame([event("C1", "2016-03-08T06:00Z", "assigned")]))
    two.alerts.evaluate(["C1"], at=pd.Timestamp("2016-03-09T00:00Z").to_pydatetime())

    with one.engine.connect() as conn:
        rows = conn.execute(
            sa.select(alerts_table.c.rule, alerts_table.c.cycle).order_by(
                alerts_table.c.id
            )
        ).all()
    assert [tuple(r) for r in rows] == [
        ("sla_warning", "next_response@2016-03-07T10:30:00Z"),
        ("sla_warning", "next_response@2016-03-08T06:00:00Z"),
    ]
