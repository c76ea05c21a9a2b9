"""Events stored by several threads at once update the backlog incrementally."""

from __future__ import annotations

import threading

import pandas as pd

from features.sla.desk import load_desk_file
from features.store import create_schema, make_engine, write_events
from models.backlog import Backlog
from stallwatch.settings import Settings

THREADS = 4
ROUNDS = 3


def _sorted(states: pd.DataFrame) -> pd.DataFrame:
    keys = [c for c in ("ticket_id", "t_ns", "seq") if c in states.columns]
    return states.sort_values(keys).reset_index(drop=True)


def test_backlog_concurrent_posts_update_without_rebuild(
    sqlite_url: str, uci_events: pd.DataFrame
) -> None:
    engine = make_engine(sqlite_url)
    create_schema(engine)
    tickets = uci_events["ticket_id"].drop_duplicates().iloc[: 20 + THREADS * ROUNDS]
    events = uci_events[uci_events["ticket_id"].isin(tickets)]
    write_events(engine, events[events["ticket_id"].isin(tickets.iloc[:20])])
    desk = load_desk_file(Settings().sla_desk)
    live = Backlog(engine, desk)
    live.states()
    rebuilds: list[int] = []
    rebuild = live._rebuild

    def counted(version: int) -> object:
        rebuilds.append(version)
        return rebuild(version)

    live._rebuild = counted  # type: ignore[method-assign,assignment]
    start = threading.Barrier(THREADS)
    errors: list[BaseException] = []

    def post(worker: int) -> None:
        try:
            start.wait()
            for n in range(ROUNDS):
                ticket = tickets.iloc[20 + worker * ROUNDS + n]
                write_events(engine, events[events["ticket_id"] == ticket])
                live.states()
        except BaseException as error:  # reported by the assertion below
            errors.append(error)

    workers = [threading.Thread(target=post, args=(w,)) for w in range(THREADS)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()

    assert errors == []
    assert rebuilds == []
    fresh = Backlog(engine, desk)
    assert len(live.events()) == len(events)
    pd.testing.assert_frame_equal(_sorted(live.states()), _sorted(fresh.states()))
