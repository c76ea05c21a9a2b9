"""The one-ticket path equals the batch path on real tickets of the UCI slice."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pytest

from features.asof import FEATURES
from features.events import EVENT_COLUMNS
from features.sla.features import SLA_FEATURES
from features.ticket_row import DeskContext, conform_records, ticket_row
from models.backlog import Backlog
from models.scorer import StallScorer
from models.ticket_scorer import RowScorer, sent_ticket_row
from stallwatch.settings import Settings

#: Moments of the slice (1 to 17 March 2016) with open and finished tickets.
MOMENTS = ("2016-03-08T13:30:00+00:00", "2016-03-16T09:00:00+00:00")
#: The reader columns that ranking and reasons take from ``with_clocks``.
CLOCK_COLUMNS = (
    "sla_least_share_left",
    "sla_next_due",
    "sla_breached_since",
    "sla_clocks",
    "sla_first_response_elapsed_minutes",
    "sla_next_response_elapsed_minutes",
    "sla_resolution_elapsed_minutes",
)
FLAGS = ("done", "breached", "merged", "back_with_group")


@dataclass
class Setup:
    backlog: Backlog
    context: DeskContext
    batch: StallScorer
    one: RowScorer


@pytest.fixture(scope="module")
def setup(trained: Settings) -> Setup:
    from features.sla.desk import load_desk_file
    from features.store import make_engine

    backlog = Backlog(
        make_engine(trained.database_url), load_desk_file(trained.sla_desk)
    )
    batch = StallScorer.load(trained.model_dir)
    context = DeskContext.from_states(backlog.states())
    return Setup(backlog, context, batch, RowScorer(batch.bundle))


def _sent(events: pd.DataFrame, at: pd.Timestamp) -> dict[str, list[dict[str, Any]]]:
    """Real tickets known at ``at``, renamed as a CRM would send new ones.

    Every 25th ticket whose first event is before ``at``, up to 24, with
    their later events too (the as-of cut must drop them).
    """
    first = events.groupby("ticket_id")["occurred_at"].min()
    chosen = sorted(first[first <= at].index)[::25][:24]
    fields = [c for c in EVENT_COLUMNS if c not in ("ticket_id", "source", "seq")]
    out: dict[str, list[dict[str, Any]]] = {}
    for ticket, part in events[events["ticket_id"].isin(chosen)].groupby("ticket_id"):
        records = part[fields].astype(object).to_dict("records")
        out[f"sent-{ticket}"] = [
            {k: v for k, v in r.items() if v is not pd.NA and v is not None}
            for r in records
        ]
    return out


def _batch_rows(
    setup: Setup, sent: dict[str, list[dict[str, Any]]], at: pd.Timestamp
) -> pd.DataFrame:
    """Each ticket's row from the batch path, sent alone as a CRM sends it."""
    rows = [
        setup.backlog.rows_for_events(
            pd.DataFrame([dict(e, ticket_id=t) for e in events]), at.to_pydatetime()
        )
        for t, events in sent.items()
    ]
    return pd.concat(rows, ignore_index=True)


def _same(expected: Any, got: Any) -> bool:
    if expected is pd.NA or expected is None or expected is pd.NaT:
        return (
            got is None or got is pd.NaT or (isinstance(got, float) and math.isnan(got))
        )
    if isinstance(expected, float | np.floating):
        return bool(np.allclose(expected, got, equal_nan=True, rtol=1e-9, atol=1e-9))
    if isinstance(expected, pd.Timestamp):
        return isinstance(got, pd.Timestamp) and expected == got
    return bool(expected == got)


@pytest.mark.parametrize("moment", MOMENTS)
def test_sent_ticket_row_equals_the_batch_rows(setup: Setup, moment: str) -> None:
    at = pd.Timestamp(moment)
    sent = _sent(setup.backlog.events(), at)
    expected = _batch_rows(setup, sent, at)
    assert len(expected) == len(sent) > 20

    columns = ["at", *FEATURES, *SLA_FEATURES, *CLOCK_COLUMNS, *FLAGS]
    for record in expected.to_dict("records"):
        ticket = str(record["ticket_id"])
        row = sent_ticket_row(
            setup.backlog.desk, setup.context, ticket, sent[ticket], at.to_pydatetime()
        )
        assert row is not None
        wrong = [c for c in columns if not _same(record[c], row[c])]
        assert wrong == [], (ticket, {c: (record[c], row[c]) for c in wrong})
    # The sample holds both open and finished tickets, and hand-offs.
    assert expected["done"].any() and not expected["done"].all()
    assert expected["handoffs"].max() >= 2


@pytest.mark.parametrize("moment", MOMENTS)
def test_row_scorer_equals_the_batch_scorer(setup: Setup, moment: str) -> None:
    at = pd.Timestamp(moment)
    sent = _sent(setup.backlog.events(), at)
    expected = setup.batch.score(_batch_rows(setup, sent, at))

    for score in expected:
        row = sent_ticket_row(
            setup.backlog.desk,
            setup.context,
            score.ticket_id,
            sent[score.ticket_id],
            at.to_pydatetime(),
        )
        assert row is not None
        got = setup.one.score(row)
        assert got.probability == pytest.approx(score.probability, abs=1e-12)
        assert got.band == score.band
        assert [r.text for r in got.reasons] == [r.text for r in score.reasons]
        assert [r.contribution for r in got.reasons] == pytest.approx(
            [r.contribution for r in score.reasons], abs=1e-9
        )
        assert got.time_to_breach is not None and score.time_to_breach is not None
        assert vars(got.time_to_breach) == pytest.approx(vars(score.time_to_breach))
    assert len({s.band for s in expected}) >= 2


def test_ticket_row_before_the_first_event_is_none(setup: Setup) -> None:
    events = conform_records(
        "T1",
        [
            {
                "occurred_at": pd.Timestamp("2016-03-10T10:00:00+00:00"),
                "kind": "created",
            }
        ],
    )
    at = pd.Timestamp("2016-03-10T09:59:59+00:00").to_pydatetime()

    assert ticket_row(events, at, setup.context) is None


def test_service_one_sent_ticket_equals_the_batch_path(
    setup: Setup, trained: Settings
) -> None:
    from models.service import StallService

    service = StallService(setup.backlog, trained.model_dir)
    at = pd.Timestamp(MOMENTS[1])
    sent = dict(list(_sent(setup.backlog.events(), at).items())[:3])
    # A stored ticket's id with its events goes through the batch path.
    stored = next(iter(sent)).removeprefix("sent-")
    sent[stored] = sent[f"sent-{stored}"]

    for ticket, events in sent.items():
        risks, version = service.score_tickets([(ticket, events)], at=at)
        rows = setup.backlog.rows_for_events(
            pd.DataFrame([dict(e, ticket_id=ticket) for e in events]),
            at.to_pydatetime(),
        )
        (expected,) = setup.batch.score(rows)
        assert version == setup.batch.version
        assert risks[0].probability == pytest.approx(expected.probability, abs=1e-12)
        assert [r.text for r in risks[0].reasons] == [r.text for r in expected.reasons]
        assert risks[0].is_open == (not bool(rows["done"].iloc[0]))


def _stored_sample(events: pd.DataFrame, at: pd.Timestamp) -> list[str]:
    """Every 25th stored ticket whose first event is before ``at``, up to 24."""
    first = events.groupby("ticket_id")["occurred_at"].min()
    return sorted(first[first <= at].index)[::25][:24]


@pytest.mark.parametrize("moment", MOMENTS)
def test_stored_ticket_row_equals_the_batch_rows(setup: Setup, moment: str) -> None:
    """A stored ticket asked for by id: the store's counts hold it already."""
    at = pd.Timestamp(moment)
    chosen = _stored_sample(setup.backlog.events(), at)
    expected = setup.backlog.stored_rows(chosen, at.to_pydatetime())
    assert len(expected) == len(chosen) > 20

    columns = ["at", *FEATURES, *SLA_FEATURES, *CLOCK_COLUMNS, *FLAGS]
    for record in expected.to_dict("records"):
        ticket = str(record["ticket_id"])
        context, events = setup.backlog.stored_ticket(ticket)
        assert events is not None
        row = sent_ticket_row(
            setup.backlog.desk, context, ticket, events, at.to_pydatetime(), stored=True
        )
        assert row is not None
        wrong = [c for c in columns if not _same(record[c], row[c])]
        assert wrong == [], (ticket, {c: (record[c], row[c]) for c in wrong})
    # The desk counts matter here: loads and repeat requesters both occur.
    assert expected["group_load"].max() >= 2
    assert (expected["requester_prior_tickets"] > 0).any()


def test_service_one_stored_ticket_equals_the_batch_path(
    setup: Setup, trained: Settings
) -> None:
    from models.service import StallService, UnknownTicketError

    service = StallService(setup.backlog, trained.model_dir)
    at = pd.Timestamp(MOMENTS[1])
    for ticket in _stored_sample(setup.backlog.events(), at)[:6]:
        risks, _ = service.score_tickets([(ticket, None)], at=at)
        rows = setup.backlog.stored_rows([ticket], at.to_pydatetime())
        (expected,) = setup.batch.score(rows)
        assert risks[0].probability == pytest.approx(expected.probability, abs=1e-12)
        assert [r.text for r in risks[0].reasons] == [r.text for r in expected.reasons]
        assert risks[0].is_open == (not bool(rows["done"].iloc[0]))

    with pytest.raises(UnknownTicketError):
        service.score_tickets([("no-such-ticket", None)], at=at)


@pytest.mark.parametrize("fraction", [".999999", ".999998", ".000001", ".5"])
def test_an_event_at_the_very_moment_counts_to_the_microsecond(
    setup: Setup, fraction: str
) -> None:
    """Epoch nanoseconds of 2016 do not fit a float64 exactly; the cut must not
    drop an event that happened at the moment itself."""
    at = pd.Timestamp(f"2016-03-10T09:00:00{fraction}+00:00")
    events = [
        {"occurred_at": at, "kind": "created", "status": "new", "group": "G1"},
        {"occurred_at": at, "kind": "assigned", "group": "G2"},
    ]
    row = sent_ticket_row(
        setup.backlog.desk, setup.context, "T-micro", events, at.to_pydatetime()
    )
    assert row is not None
    assert row["at"] == at and row["n_events"] == 2.0
    assert row["group"] == "G2"
    # One microsecond earlier, nothing has happened yet.
    before = (at - pd.Timedelta(nanoseconds=1000)).to_pydatetime()
    assert (
        sent_ticket_row(setup.backlog.desk, setup.context, "T-micro", events, before)
        is None
    )
