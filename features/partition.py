"""Split an event log into parts that each hold whole tickets.

Every as-of feature of a ticket reads only that ticket's events, except the
desk-wide tables (:class:`features.asof.DeskTables`), which add up per-ticket
facts. So a log split by ticket can be built part by part, on several
machines, and give the same rows as the whole log built at once.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def ticket_partition(ticket_ids: pd.Series, n_parts: int) -> np.ndarray:
    """Return the part (0 to ``n_parts - 1``) of each ticket id.

    The part depends only on the id, through pandas' stable hash (not
    Python's per-process salted one), so every process and every run puts a
    ticket in the same part.
    """
    if n_parts < 1:
        raise ValueError(f"n_parts must be at least 1, got {n_parts}")
    hashed = pd.util.hash_pandas_object(
        ticket_ids.astype("string"), index=False
    ).to_numpy()
    return (hashed % np.uint64(n_parts)).astype("int64")


def split_by_ticket(events: pd.DataFrame, n_parts: int) -> list[pd.DataFrame]:
    """Split canonical events into ``n_parts`` frames of whole tickets.

    Each part keeps the events' order (by ticket, time and sequence), so it
    is a valid input of :func:`features.asof.event_states`. A part may be
    empty when there are fewer tickets than parts.
    """
    part = ticket_partition(events["ticket_id"], n_parts)
    return [events[part == i].reset_index(drop=True) for i in range(n_parts)]
