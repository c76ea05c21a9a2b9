"""Snapshots and the stall model on a Dask cluster, the event log split by ticket.

When a desk's history outgrows one machine, the same feature code runs on
parts of the log that each hold whole tickets
(:func:`features.partition.split_by_ticket`): every worker folds its tickets'
events (:func:`features.asof.event_states`), the small desk-wide tables
(group load, requester history) are added up across parts, and each worker
then builds its tickets' labelled snapshots with
:func:`training.dataset.build_snapshots`. LightGBM's own Dask estimator
trains on the rows where they lie. Nothing here schedules work itself: Dask's
distributed scheduler does.

Example
-------
>>> with local_client(n_workers=2) as client:                # doctest: +SKIP
...     parts = build_snapshots_dask(client, events, n_parts=4)
...     snapshots, outcomes = parts.gather(client)
"""

from __future__ import annotations

import logging
import operator
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Literal

import dask.array as da
import lightgbm as lgb
import numpy as np
import pandas as pd
from distributed import Client, Future, LocalCluster

from features.asof import (
    CATEGORICAL_FEATURES,
    DeskTables,
    combine_desk_tables,
    desk_table_parts,
    event_states,
)
from features.partition import split_by_ticket
from features.sla.desk import SlaDesk
from training.dataset import build_snapshots
from training.learners import LGBM_PARAMS, as_matrix, ticket_weights

log = logging.getLogger("stallwatch.training")


@contextmanager
def local_client(*, n_workers: int = 2) -> Iterator[Client]:
    """Start a Dask cluster of worker processes on this machine; close it after.

    One thread per worker: LightGBM's Dask training needs one process per
    worker, and each worker's booster runs on one thread.
    """
    with (
        LocalCluster(
            n_workers=n_workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
        ) as cluster,
        Client(cluster) as client,
    ):
        yield client


@contextmanager
def dask_client(address: str) -> Iterator[Client]:
    """Connect to the scheduler at ``address``, or start a local one for "local"."""
    if address == "local":
        with local_client() as client:
            yield client
        return
    with Client(address) as client:
        yield client


@dataclass
class PartitionedSnapshots:
    """Labelled snapshot rows and ticket outcomes, one pair per part, on workers."""

    rows: list[Future]
    outcomes: list[Future]

    def gather(self, client: Client) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Return all rows and outcomes in this process (when they fit)."""
        rows = pd.concat(client.gather(self.rows), ignore_index=True)
        outcomes = pd.concat(client.gather(self.outcomes))
        return rows, outcomes


def _last_instant(events: pd.DataFrame) -> pd.Timestamp:
    return pd.Timestamp(events["occurred_at"].max())


def _build_part(
    events: pd.DataFrame,
    states: pd.DataFrame,
    *,
    tables: DeskTables,
    data_end: pd.Timestamp,
    desk: SlaDesk | None,
    label: Literal["source", "policy"],
) -> tuple[pd.DataFrame, pd.DataFrame]:
    return build_snapshots(
        events,
        desk=desk,
        label=label,
        states=states,
        tables=tables,
        data_end=data_end,
    )


def build_snapshots_dask(
    client: Client,
    events: pd.DataFrame | Sequence[pd.DataFrame],
    *,
    n_parts: int | None = None,
    desk: SlaDesk | None = None,
    label: Literal["source", "policy"] = "source",
) -> PartitionedSnapshots:
    """Build :func:`training.dataset.build_snapshots` on Dask, part by part.

    Parameters
    ----------
    client : distributed.Client
        The cluster to run on.
    events : DataFrame or sequence of DataFrame
        Canonical events, split here into ``n_parts`` parts by ticket, or
        parts already split that way (each holding whole tickets, in the
        order of :func:`features.events.conform_events`).
    n_parts : int, optional
        Parts to split a whole log into; by default two per worker.
    desk, label
        As in :func:`training.dataset.build_snapshots`.

    Returns
    -------
    PartitionedSnapshots
        Futures of each part's rows and outcomes; the union of the rows
        equals ``build_snapshots(all events)`` up to row order.
    """
    if isinstance(events, pd.DataFrame):
        n_parts = n_parts or 2 * max(len(client.scheduler_info()["workers"]), 1)
        events = split_by_ticket(events, n_parts)
    parts = [part for part in events if not part.empty]
    if not parts:
        raise ValueError("no events to build snapshots from")

    # Step one, per part: fold events into states, list per-ticket load facts.
    scattered = client.scatter(parts)
    states = client.map(event_states, scattered, pure=False)
    pieces = client.gather(client.map(desk_table_parts, states, pure=False))
    ends = client.gather(client.map(_last_instant, scattered, pure=False))

    # Step two: the desk-wide tables, added up once and sent to every worker.
    tables = client.scatter(combine_desk_tables(pieces), broadcast=True)
    built = client.map(
        _build_part,
        scattered,
        states,
        tables=tables,
        data_end=max(ends),
        desk=desk,
        label=label,
        pure=False,
    )
    log.info("dask_snapshots_submitted", extra={"parts": len(parts)})
    return PartitionedSnapshots(
        rows=client.map(operator.itemgetter(0), built, pure=False),
        outcomes=client.map(operator.itemgetter(1), built, pure=False),
    )


def as_array(
    rows: pd.DataFrame, levels: dict[str, list[str]], numeric: Sequence[str]
) -> np.ndarray:
    """Return :func:`training.learners.as_matrix` as floats: category codes first.

    A missing or unseen category is NaN, as LightGBM reads it from a
    categorical column; the served one-row path builds the same codes.
    """
    matrix = as_matrix(rows, levels, numeric)
    out = np.empty(matrix.shape, dtype="float64")
    for i, name in enumerate(matrix.columns):
        column = matrix[name]
        if name in levels:
            codes = column.cat.codes.to_numpy().astype("float64")
            out[:, i] = np.where(codes < 0, np.nan, codes)
        else:
            out[:, i] = column.to_numpy(dtype="float64")
    return out


def _training_part(
    rows: pd.DataFrame,
    *,
    tickets: frozenset[str],
    known_at: pd.Timestamp | None,
    levels: dict[str, list[str]],
    numeric: Sequence[str],
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rows = _labelled(rows, tickets, known_at)
    y = rows["stalled"].to_numpy(dtype="float64")
    return as_array(rows, levels, numeric), y, ticket_weights(rows)


def _labelled(
    rows: pd.DataFrame, tickets: frozenset[str], known_at: pd.Timestamp | None
) -> pd.DataFrame:
    """Rows of ``tickets`` whose label is known, before ``known_at`` if given."""
    rows = rows[rows["ticket_id"].isin(tickets) & rows["stalled"].notna()]
    if known_at is not None:
        rows = rows[rows["at"] < known_at]
    return rows


def _levels_part(
    rows: pd.DataFrame, *, tickets: frozenset[str], known_at: pd.Timestamp | None
) -> dict[str, set[str]]:
    rows = _labelled(rows, tickets, known_at)
    return {
        name: set(rows[name].dropna().astype(str).unique().tolist())
        for name in CATEGORICAL_FEATURES
    }


def _stack(futures: list[Future], sizes: list[int], width: int | None) -> da.Array:
    """Concatenate per-part arrays held by workers into one Dask array."""
    arrays = [
        da.from_delayed(f, shape=(n,) if width is None else (n, width), dtype=float)
        for f, n in zip(futures, sizes, strict=True)
        if n > 0
    ]
    return da.concatenate(arrays)


def fit_lightgbm_dask(
    client: Client,
    snapshots: PartitionedSnapshots,
    *,
    tickets: frozenset[str],
    numeric: Sequence[str],
    rounds: int,
    known_at: pd.Timestamp | None = None,
) -> tuple[lgb.DaskLGBMClassifier, dict[str, list[str]]]:
    """Train the stall classifier with ``lightgbm.DaskLGBMClassifier``.

    The rows of ``tickets`` with a known label (before ``known_at`` if given)
    stay on the workers that built them; each ticket weighs one in total, as
    in :func:`training.learners.fit_lightgbm`. LightGBM's Dask estimator has
    no early stopping, so ``rounds`` is fixed (take it from a single-process
    fit on a sample). Distributed training finds the same kind of trees but
    not bit-identical ones.

    Returns
    -------
    model : lightgbm.DaskLGBMClassifier
        The fitted estimator; ``model.booster_`` is a plain booster.
    levels : dict
        The category levels seen in training, the order of their codes.
    """
    # Sent once as data: a large argument of client.map becomes a task whose
    # key is the argument's name, and two maps then collide on it.
    [shared] = client.scatter([tickets], broadcast=True)
    where = {"tickets": shared, "known_at": known_at}
    seen = client.gather(client.map(_levels_part, snapshots.rows, **where, pure=False))
    levels = {
        name: sorted(set().union(*(part[name] for part in seen)))
        for name in CATEGORICAL_FEATURES
    }
    parts = client.map(
        _training_part,
        snapshots.rows,
        **where,
        levels=levels,
        numeric=list(numeric),
        pure=False,
    )
    xs = client.map(operator.itemgetter(0), parts, pure=False)
    ys = client.map(operator.itemgetter(1), parts, pure=False)
    ws = client.map(operator.itemgetter(2), parts, pure=False)
    sizes = client.gather(client.map(len, ys, pure=False))
    width = len(levels) + len(numeric)

    # Each worker's booster takes as many threads as the worker has.
    params: dict[str, Any] = {
        k: v for k, v in LGBM_PARAMS.items() if k != "num_threads"
    }
    model = lgb.DaskLGBMClassifier(client=client, n_estimators=rounds, **params)
    model.fit(
        _stack(xs, sizes, width),
        _stack(ys, sizes, None),
        sample_weight=_stack(ws, sizes, None),
        categorical_feature=list(range(len(levels))),
    )
    log.info(
        "dask_model_trained",
        extra={"rows": int(sum(sizes)), "rounds": rounds, "parts": len(sizes)},
    )
    return model, levels


def _predict_part(
    rows: pd.DataFrame,
    booster: lgb.Booster,
    *,
    levels: dict[str, list[str]],
    numeric: Sequence[str],
) -> pd.DataFrame:
    score = booster.predict(as_array(rows, levels, numeric), num_threads=1)
    out = rows[["ticket_id", "at"]].reset_index(drop=True)
    return out.assign(score=np.asarray(score, dtype="float64"))


def predict_dask(
    client: Client,
    booster: lgb.Booster,
    snapshots: PartitionedSnapshots,
    *,
    levels: dict[str, list[str]],
    numeric: Sequence[str],
) -> pd.DataFrame:
    """Score every snapshot row where it lies with one booster.

    Returns
    -------
    DataFrame
        ``ticket_id``, ``at`` and the booster's raw ``score`` of each row.
    """
    [shared] = client.scatter([booster], broadcast=True)
    scored = client.map(
        _predict_part,
        snapshots.rows,
        booster=shared,
        levels=levels,
        numeric=list(numeric),
        pure=False,
    )
    return pd.concat(client.gather(scored), ignore_index=True)
