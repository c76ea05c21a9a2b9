"""Vectorised SLA clocks: roll many open clocks forward to an instant with numpy.

The scalar engine (:mod:`features.sla.clocks`) replays each ticket's history
once and leaves a :class:`~features.sla.model.ClockSnapshot` per open clock.
Until the ticket's next event, the clock at any later instant follows from the
snapshot and the calendar's cumulative business seconds alone, so 100,000
tickets take a handful of ``searchsorted`` calls and no per-ticket Python.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import numpy.typing as npt

from features.sla.calendar import BusinessCalendar, to_epoch
from features.sla.model import ClockSnapshot

#: Epoch value standing for "no instant" (the bit pattern of numpy's NaT).
NO_INSTANT = np.iinfo(np.int64).min

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


def as_epoch_seconds(values: npt.ArrayLike) -> IntArray:
    """Return UTC epoch seconds from datetime64 (NaT kept) or integer seconds."""
    arr = np.asarray(values)
    if np.issubdtype(arr.dtype, np.datetime64):
        return arr.astype("datetime64[s]").astype(np.int64)
    return arr.astype(np.int64)


@dataclass(frozen=True)
class ClockBatchInput:
    """Open clocks to evaluate, one row per clock.

    Attributes
    ----------
    segment_start : ndarray of int64, shape (n,)
        Epoch seconds at which each clock's current stretch began (last resume
        or start when running, pause start when paused).
    elapsed_before_seconds : ndarray of int64, shape (n,)
        Business seconds counted before ``segment_start``.
    paused : ndarray of bool, shape (n,)
        Whether each clock is paused since ``segment_start``.
    target_seconds : ndarray of int64, shape (n,)
        Target in business seconds; negative means no target (state ``none``).
    reached_at : ndarray of int64, shape (n,)
        Epoch seconds at which the target was reached before ``segment_start``,
        :data:`NO_INSTANT` otherwise.
    """

    segment_start: IntArray
    elapsed_before_seconds: IntArray
    paused: BoolArray
    target_seconds: IntArray
    reached_at: IntArray

    def __post_init__(self) -> None:
        sizes = {
            name: np.shape(getattr(self, name))
            for name in (
                "segment_start",
                "elapsed_before_seconds",
                "paused",
                "target_seconds",
                "reached_at",
            )
        }
        if len(set(sizes.values())) != 1 or len(next(iter(sizes.values()))) != 1:
            raise ValueError(f"expected 1-d arrays of one length, got shapes {sizes}")

    @classmethod
    def from_arrays(
        cls,
        *,
        segment_start: npt.ArrayLike,
        elapsed_before_seconds: npt.ArrayLike,
        paused: npt.ArrayLike,
        target_seconds: npt.ArrayLike,
        reached_at: npt.ArrayLike | None = None,
    ) -> ClockBatchInput:
        """Build an input from array-likes; instants as datetime64 or epoch seconds."""
        start = as_epoch_seconds(segment_start)
        reached = (
            np.full(start.shape, NO_INSTANT, dtype=np.int64)
            if reached_at is None
            else as_epoch_seconds(reached_at)
        )
        return cls(
            segment_start=start,
            elapsed_before_seconds=np.asarray(elapsed_before_seconds, dtype=np.int64),
            paused=np.asarray(paused, dtype=np.bool_),
            target_seconds=np.asarray(target_seconds, dtype=np.int64),
            reached_at=reached,
        )

    @classmethod
    def from_snapshots(
        cls, snapshots: Sequence[ClockSnapshot | None]
    ) -> ClockBatchInput:
        """Build an input from scalar-engine snapshots; None rows have no target."""
        rows = [
            (s.segment_start, s.elapsed_before_seconds, s.paused, s.target_seconds)
            if s is not None
            else (0, 0, False, -1)
            for s in snapshots
        ]
        reached = [
            s.reached_at if s is not None and s.reached_at is not None else NO_INSTANT
            for s in snapshots
        ]
        columns = list(zip(*rows, strict=True)) if rows else [(), (), (), ()]
        return cls(
            segment_start=np.asarray(columns[0], dtype=np.int64),
            elapsed_before_seconds=np.asarray(columns[1], dtype=np.int64),
            paused=np.asarray(columns[2], dtype=np.bool_),
            target_seconds=np.asarray(columns[3], dtype=np.int64),
            reached_at=np.asarray(reached, dtype=np.int64),
        )


@dataclass(frozen=True)
class ClockBatch:
    """Clock values for many tickets, one row per input row.

    Attributes
    ----------
    state : ndarray of str, shape (n,)
        ``none``, ``running``, ``paused`` or ``breached``.
    due : ndarray of datetime64[s], shape (n,)
        UTC due instants (naive datetime64 in UTC); NaT when paused short of
        the target, without target, or reached before the snapshot without a
        known ``reached_at``.
    elapsed_minutes, remaining_minutes : ndarray of float64, shape (n,)
        Business minutes; NaN without target. Remaining is negative if overdue.
    breached, warning : ndarray of bool, shape (n,)
    """

    state: npt.NDArray[np.str_]
    due: npt.NDArray[np.datetime64]
    elapsed_minutes: FloatArray
    remaining_minutes: FloatArray
    breached: BoolArray
    warning: BoolArray


def compute_clock_batch(
    *,
    calendar: BusinessCalendar,
    clocks: ClockBatchInput,
    at: datetime | npt.ArrayLike,
    warn_at_fraction: float | npt.ArrayLike | None = None,
) -> ClockBatch:
    """Evaluate many open clocks at an instant (or one instant per clock).

    Parameters
    ----------
    calendar : BusinessCalendar
        Calendar in which all the clocks count business time.
    clocks : ClockBatchInput
        One row per open clock.
    at : datetime or array_like
        Aware instant, or per-row instants as datetime64 / epoch seconds; must
        not be before a row's ``segment_start``.
    warn_at_fraction : float or array_like, optional
        Warning share of the target, per row or for all; NaN or None for none.

    Returns
    -------
    ClockBatch
        Same values as :func:`features.sla.clocks.compute_clocks` would give.
    """
    n = len(clocks.segment_start)
    at_s = (
        np.full(n, to_epoch(at), dtype=np.int64)
        if isinstance(at, datetime)
        else np.broadcast_to(as_epoch_seconds(at), (n,)).astype(np.int64)
    )
    has_target = clocks.target_seconds >= 0
    running = has_target & ~clocks.paused
    if np.any(has_target & (at_s < clocks.segment_start)):
        raise ValueError("'at' is before a clock's segment_start for some rows")

    # Elapsed: counted before the stretch plus the running stretch up to `at`.
    counted_now = np.where(
        running,
        calendar.business_seconds_between_epoch(
            np.where(running, clocks.segment_start, at_s), at_s
        ),
        0,
    )
    elapsed = clocks.elapsed_before_seconds + counted_now
    target = clocks.target_seconds

    # Due: reached earlier, or the stretch start plus what was left.
    reached_before = has_target & (clocks.elapsed_before_seconds >= target)
    project = running & ~reached_before
    due = np.full(n, NO_INSTANT, dtype=np.int64)
    due[reached_before] = clocks.reached_at[reached_before]
    if np.any(project):
        left = (target - clocks.elapsed_before_seconds)[project]
        due[project] = calendar.add_business_seconds_epoch(
            clocks.segment_start[project], left
        )

    # Breach, state and warning.
    breached = reached_before | (running & (elapsed >= target))
    state = np.where(
        ~has_target,
        "none",
        np.where(breached, "breached", np.where(clocks.paused, "paused", "running")),
    )
    fraction = np.broadcast_to(
        np.asarray(np.nan if warn_at_fraction is None else warn_at_fraction, float),
        (n,),
    )
    warning = (
        has_target
        & ~breached
        & ~np.isnan(fraction)
        & (elapsed >= np.nan_to_num(fraction) * target)
    )

    elapsed_min = np.where(has_target, elapsed / 60, np.nan)
    remaining_min = np.where(has_target, (target - elapsed) / 60, np.nan)
    return ClockBatch(
        state=state.astype(np.str_),
        due=due.astype("datetime64[s]"),
        elapsed_minutes=elapsed_min.astype(np.float64),
        remaining_minutes=remaining_min.astype(np.float64),
        breached=breached.astype(np.bool_),
        warning=warning.astype(np.bool_),
    )
