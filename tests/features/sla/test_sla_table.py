"""The array path of the clocks equals the scalar engine on real tickets."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from features.sla.clocks import clock_history, compute_clocks, last_event_clocks
from features.sla.desk import SlaDesk, load_desk_file
from features.sla.features import breach_instants
from features.sla.table import clock_history_frame, clocks_at, lookup_history
from stallwatch.settings import Settings


@pytest.fixture(scope="module")
def desk() -> SlaDesk:
    return load_desk_file(Settings().sla_desk)


def test_clocks_at_equal_scalar_engine_on_real_tickets(
    desk: SlaDesk, uci_events: pd.DataFrame, rng: np.random.Generator
) -> None:
    tickets = rng.choice(uci_events["ticket_id"].unique(), size=60, replace=False)
    events = uci_events[uci_events["ticket_id"].isin(tickets)]
    history, calendars = clock_history_frame(desk, events)
    first = events.groupby("ticket_id")["occurred_at"].min()
    hours = rng.uniform(0, 24 * 20, size=len(first))
    moments = pd.DataFrame(
        {
            "ticket_id": first.index,
            "at": (first + pd.to_timedelta(hours, unit="h")).dt.floor("s").to_numpy(),
        }
    )

    table = clocks_at(history, calendars, moments)

    for _, moment in moments.iterrows():
        ticket = events[events["ticket_id"] == moment["ticket_id"]]
        policy, sla_events = desk.sla_events(ticket.astype(object).to_dict("records"))
        scalar = compute_clocks(
            calendar=desk.calendar_at(ticket["occurred_at"].iloc[0]),
            policy=policy,
            events=sla_events,
            at=moment["at"].to_pydatetime(),
        )
        mine = table[table["ticket_id"] == moment["ticket_id"]]
        for _, row in mine.iterrows():
            clock = scalar[row["target"]]
            assert row["state"] == clock.state, (moment.to_dict(), row["target"])
            if clock.elapsed_minutes is not None:
                assert row["elapsed_minutes"] == pytest.approx(clock.elapsed_minutes)
            if clock.due is None:
                assert pd.isna(row["due"])
            else:
                assert row["due"] == pd.Timestamp(clock.due)


def test_breach_instants_match_scalar_first_breach(
    desk: SlaDesk, uci_events: pd.DataFrame
) -> None:
    events = uci_events[uci_events["ticket_id"].isin(uci_events["ticket_id"][:400])]
    end = events["occurred_at"].max()
    history, _ = clock_history_frame(desk, events)

    found = breach_instants(history, data_end=end)

    for ticket_id, ticket in events.groupby("ticket_id"):
        policy, sla_events = desk.sla_events(ticket.astype(object).to_dict("records"))
        clocks = compute_clocks(
            calendar=desk.calendar_at(ticket["occurred_at"].iloc[0]),
            policy=policy,
            events=sla_events,
            at=end.to_pydatetime(),
        )
        breaches = [c.due for c in clocks.clocks.values() if c.breached]
        if ticket_id in found.index:
            # The scalar engine reports the latest clock of each target; the
            # first breach can only be at or before the breaches it shows.
            assert (
                breaches
                or history[history["ticket_id"] == ticket_id]["state"]
                .eq("breached")
                .any()
            )
            if breaches:
                assert found[ticket_id] <= pd.Timestamp(min(breaches))
        else:
            assert not breaches


def test_last_event_clocks_is_the_last_history_entry_up_to_a_moment(
    desk: SlaDesk, uci_events: pd.DataFrame, rng: np.random.Generator
) -> None:
    tickets = rng.choice(uci_events["ticket_id"].unique(), size=40, replace=False)
    for ticket_id in tickets:
        ticket = uci_events[uci_events["ticket_id"] == ticket_id]
        policy, sla_events = desk.sla_events(ticket.astype(object).to_dict("records"))
        calendar = desk.calendar_at(ticket["occurred_at"].iloc[0])
        history = clock_history(calendar=calendar, policy=policy, events=sla_events)
        # Events at the moment asked about have happened.
        pick = int(rng.integers(0, len(history)))
        until = history[pick][0]
        entry = last_event_clocks(
            calendar=calendar, policy=policy, events=sla_events, until=until
        )
        assert entry is not None
        assert entry[0] == history[pick][0]
        assert entry[1] == history[pick][1]
        before = last_event_clocks(
            calendar=calendar, policy=policy, events=sla_events, until=history[0][0] - 1
        )
        assert before is None


def test_clocks_at_gives_the_same_clocks_from_a_prepared_or_shuffled_history(
    desk: SlaDesk, uci_events: pd.DataFrame, rng: np.random.Generator
) -> None:
    tickets = rng.choice(uci_events["ticket_id"].unique(), size=80, replace=False)
    events = uci_events[uci_events["ticket_id"].isin(tickets)]
    history, calendars = clock_history_frame(desk, events)
    last = events.groupby("ticket_id")["occurred_at"].max()
    moments = pd.DataFrame({"ticket_id": last.index, "at": last.to_numpy()})
    shuffled = history.sample(frac=1.0, random_state=3)
    prepared = lookup_history(history)

    plain = clocks_at(history, calendars, moments)
    from_shuffled = clocks_at(shuffled, calendars, moments)
    from_prepared = clocks_at(prepared, calendars, moments)

    # A prepared history is used as it is; the others are prepared on the way.
    assert lookup_history(prepared) is prepared
    assert prepared["t_s"].is_monotonic_increasing
    assert len(plain) == 3 * len(moments)
    for other in (from_shuffled, from_prepared):
        pd.testing.assert_frame_equal(
            other.sort_values(["order", "target"]).reset_index(drop=True),
            plain.sort_values(["order", "target"]).reset_index(drop=True),
        )
