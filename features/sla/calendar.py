"""Business calendars: opening hours in an IANA zone as sorted UTC intervals.

Every operation works on real instants. Opening spans are turned into UTC
intervals day by day in the calendar's zone, so a round-the-clock day over a
clock change has 23 or 25 hours. The intervals are kept as numpy arrays of
epoch seconds with cumulative business seconds, so counting and adding business
time are ``searchsorted`` look-ups, scalar or vectorised.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import holidays as holiday_data
import numpy as np
import numpy.typing as npt

from features.sla.axis import IntArray, OpenAxis

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MINUTES_PER_DAY = 1440

#: Days added on each side when the covered range has to grow.
_EXTEND_DAYS = 366
#: How far past a start an "add business time" may search before giving up.
_MAX_SEARCH_DAYS = 366 * 30


@dataclass(frozen=True)
class OpenSpan:
    """One opening span of a weekday, in local minutes after midnight.

    ``end_minute`` may be 1440 (``"24:00"``), the end of the day.
    """

    start_minute: int
    end_minute: int


@dataclass(frozen=True)
class PublicHolidays:
    """Public holidays of a country (and optionally a subdivision).

    Dates come from the ``holidays`` package, e.g. ``PublicHolidays("DE", "BY")``.
    """

    country: str
    subdiv: str | None = None

    def dates(self, years: Iterable[int]) -> set[date]:
        """Return the holiday dates in the given years."""
        table = holiday_data.country_holidays(
            self.country, subdiv=self.subdiv, years=list(years)
        )
        return set(table.keys())


class BusinessCalendar:
    """Opening hours, holidays and a zone: the business-time axis of SLA clocks.

    Parameters
    ----------
    timezone : str
        IANA zone name in which opening spans and holidays are read.
    week : mapping of int to sequence of OpenSpan
        Opening spans per weekday, 0 = Monday. Missing days are closed.
    holidays : iterable of date, optional
        Local dates that are closed all day.
    public_holidays : PublicHolidays, optional
        Country or subdivision whose public holidays are closed all day.
    version : str, optional
        Version label of this calendar; stored with computed clocks.
    name : str, optional
        Human name of the calendar.
    """

    def __init__(
        self,
        *,
        timezone: str,
        week: Mapping[int, Sequence[OpenSpan]],
        holidays: Iterable[date] = (),
        public_holidays: PublicHolidays | None = None,
        version: str = "unversioned",
        name: str | None = None,
    ) -> None:
        self.timezone = timezone
        self.zone = ZoneInfo(timezone)
        self.week: dict[int, tuple[OpenSpan, ...]] = {
            day: tuple(sorted(week.get(day, ()), key=lambda s: s.start_minute))
            for day in range(7)
        }
        self.holidays = frozenset(holidays)
        self.public_holidays = public_holidays
        self.version = version
        self.name = name
        if not any(self.week.values()):
            raise ValueError("a business calendar needs at least one opening span")

        # The covered range starts empty; arrays are built on first use.
        self._first_day: date | None = None
        self._last_day: date | None = None
        self._anchor = 0
        self._axis = OpenAxis.empty()
        self._lock = threading.Lock()
        self._covered: tuple[int, int] | None = None
        self._public_years: dict[int, set[date]] = {}

    def __getstate__(self) -> dict[str, Any]:
        # Pickled for Dask workers (training/distributed.py): a lock is per process.
        state = self.__dict__.copy()
        del state["_lock"]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return (
            f"BusinessCalendar(name={self.name!r}, timezone={self.timezone!r}, "
            f"version={self.version!r})"
        )

    # ------------------------------------------------------------------ build

    def _is_holiday(self, day: date) -> bool:
        if day in self.holidays:
            return True
        if self.public_holidays is None:
            return False
        if day.year not in self._public_years:
            self._public_years[day.year] = self.public_holidays.dates([day.year])
        return day in self._public_years[day.year]

    def _local_epoch(self, day: date, minute: int) -> int:
        # A nonexistent local time (spring gap) maps forward by the gap length;
        # an ambiguous one (autumn) takes its first occurrence (fold=0).
        day = day + timedelta(days=minute // MINUTES_PER_DAY)
        minute %= MINUTES_PER_DAY
        local = datetime(
            day.year, day.month, day.day, minute // 60, minute % 60, tzinfo=self.zone
        )
        return int(local.timestamp())

    def _build(self, first_day: date, last_day: date) -> OpenAxis:
        # Turn each day's spans into UTC intervals, merging touching ones.
        starts: list[int] = []
        ends: list[int] = []
        day = first_day
        while day <= last_day:
            if not self._is_holiday(day):
                for span in self.week[day.weekday()]:
                    begin = self._local_epoch(day, span.start_minute)
                    end = self._local_epoch(day, span.end_minute)
                    if end <= begin:
                        continue
                    if ends and begin <= ends[-1]:
                        ends[-1] = max(ends[-1], end)
                    else:
                        starts.append(begin)
                        ends.append(end)
            day += timedelta(days=1)

        # Cumulative business seconds before each interval.
        start_arr = np.asarray(starts, dtype=np.int64)
        end_arr = np.asarray(ends, dtype=np.int64)
        lengths = end_arr - start_arr
        cum_end = np.cumsum(lengths, dtype=np.int64)
        axis = OpenAxis(start_arr, end_arr, cum_end - lengths, cum_end)

        # Keep F(anchor) == 0 so cumulative values are stable across rebuilds.
        if self._first_day is None:
            self._anchor = self._local_epoch(first_day, 0)
        shift = int(axis.cumulative(np.array([self._anchor], dtype=np.int64))[0])
        return OpenAxis(
            start_arr, end_arr, axis.cum_start - shift, axis.cum_end - shift
        )

    def _ensure_days(self, lo_day: date, hi_day: date) -> OpenAxis:
        # Readers use the returned axis, so a rebuild in another thread is safe.
        with self._lock:
            first, last = self._first_day, self._last_day
            if first is not None and last is not None:
                if first <= lo_day and hi_day <= last:
                    return self._axis
                if lo_day < first:
                    first = min(lo_day, first - timedelta(days=_EXTEND_DAYS))
                if hi_day > last:
                    last = max(hi_day, last + timedelta(days=_EXTEND_DAYS))
            else:
                first, last = lo_day, hi_day
            self._axis = self._build(first, last)
            self._first_day, self._last_day = first, last
            return self._axis

    def _ensure(self, lo: int, hi: int) -> OpenAxis:
        # Ranges already asked for stay covered: the axis only grows.
        covered = self._covered
        if covered is not None and covered[0] <= lo and hi <= covered[1]:
            return self._axis
        axis = self._ensure_range(lo, hi)
        self._covered = (
            (lo, hi) if covered is None else (min(lo, covered[0]), max(hi, covered[1]))
        )
        return axis

    def _ensure_range(self, lo: int, hi: int) -> OpenAxis:
        # One spare day on each side covers any offset of the zone.
        lo_day = datetime.fromtimestamp(lo, tz=self.zone).date() - timedelta(days=1)
        hi_day = datetime.fromtimestamp(hi, tz=self.zone).date() + timedelta(days=1)
        return self._ensure_days(lo_day, hi_day)

    def prepare(self, start: datetime, end: datetime) -> None:
        """Build the interval arrays for ``[start, end]`` ahead of time."""
        self._ensure(to_epoch(start), to_epoch(end))

    # ------------------------------------------------------- epoch operations

    def cumulative_seconds(self, t: npt.ArrayLike) -> IntArray:
        """Return business seconds from the calendar's anchor to each instant.

        Parameters
        ----------
        t : array_like of int
            Instants as UTC epoch seconds, any shape.

        Returns
        -------
        ndarray of int64
            Business seconds; differences between two values are business
            seconds between the two instants. Values are stable for the life of
            the calendar object.
        """
        arr = np.asarray(t, dtype=np.int64)
        if arr.size == 0:
            return arr
        return self._ensure(int(arr.min()), int(arr.max())).cumulative(arr)

    def business_seconds_between_epoch(
        self, start: npt.ArrayLike, end: npt.ArrayLike
    ) -> IntArray:
        """Return business seconds in ``[start, end)`` for arrays of epoch seconds.

        Negative when ``end`` is before ``start``.
        """
        if isinstance(start, int) and isinstance(end, int):
            axis = self._ensure(min(start, end), max(start, end))
            return np.int64(axis.cumulative_one(end) - axis.cumulative_one(start))
        start_arr = np.asarray(start, dtype=np.int64)
        end_arr = np.asarray(end, dtype=np.int64)
        both = np.concatenate([start_arr.ravel(), end_arr.ravel()])
        if both.size == 0:
            return end_arr - start_arr
        axis = self._ensure(int(both.min()), int(both.max()))
        return axis.cumulative(end_arr) - axis.cumulative(start_arr)

    def add_business_seconds_epoch(
        self, start: npt.ArrayLike, seconds: npt.ArrayLike
    ) -> IntArray:
        """Return the first instant at which ``seconds`` business seconds have passed.

        Parameters
        ----------
        start : array_like of int
            Start instants, UTC epoch seconds.
        seconds : array_like of int
            Business seconds to add, non-negative; broadcast against ``start``.

        Returns
        -------
        ndarray of int64
            Epoch seconds. An addition that ends exactly at the close of a span
            returns that close, not the next opening. Adding zero returns the
            start itself.
        """
        if isinstance(start, int) and isinstance(seconds, int) and seconds >= 0:
            due = self._ensure(start, start).add_one(start, seconds)
            if due is not None:
                return np.int64(due)
        start_arr, secs = np.broadcast_arrays(
            np.asarray(start, dtype=np.int64), np.asarray(seconds, dtype=np.int64)
        )
        if start_arr.size == 0:
            return start_arr.astype(np.int64)
        if np.any(secs < 0):
            raise ValueError("business seconds to add must be >= 0")
        axis = self._ensure(int(start_arr.min()), int(start_arr.max()))
        goal = axis.cumulative(start_arr) + secs

        # Grow the covered range until every goal falls inside it.
        horizon = datetime.fromtimestamp(int(start_arr.max()), UTC).date()
        while len(axis.cum_end) == 0 or goal.max() > axis.cum_end[-1]:
            assert self._last_day is not None
            if (self._last_day - horizon).days > _MAX_SEARCH_DAYS:
                raise ValueError("calendar has no open time within 30 years of start")
            axis = self._ensure_days(self._last_day, self._last_day + timedelta(days=1))

        idx = np.searchsorted(axis.cum_end, goal, side="left")
        due = axis.starts[idx] + (goal - axis.cum_start[idx])
        return np.maximum(due, start_arr).astype(np.int64)

    def open_intervals_epoch(self, start: int, end: int) -> list[tuple[int, int]]:
        """Return open intervals overlapping ``[start, end)``, clipped to it."""
        if end <= start:
            return []
        axis = self._ensure(start, end)
        lo = int(np.searchsorted(axis.ends, start, side="right"))
        hi = int(np.searchsorted(axis.starts, end, side="left"))
        return [
            (max(int(axis.starts[i]), start), min(int(axis.ends[i]), end))
            for i in range(lo, hi)
        ]

    # ----------------------------------------------------- datetime helpers

    def business_minutes_between(self, start: datetime, end: datetime) -> float:
        """Return business minutes between two aware instants (negative if reversed)."""
        seconds = self.business_seconds_between_epoch(to_epoch(start), to_epoch(end))
        return int(seconds) / 60

    def add_business_minutes(self, start: datetime, minutes: float) -> datetime:
        """Return the UTC instant at which ``minutes`` business minutes have passed."""
        due = self.add_business_seconds_epoch(to_epoch(start), round(minutes * 60))
        return from_epoch(int(due))

    def open_intervals(
        self, start: datetime, end: datetime
    ) -> list[tuple[datetime, datetime]]:
        """Return the open intervals overlapping ``[start, end)`` as UTC instants."""
        return [
            (from_epoch(a), from_epoch(b))
            for a, b in self.open_intervals_epoch(to_epoch(start), to_epoch(end))
        ]

    def is_open(self, at: datetime) -> bool:
        """Return whether the desk is open at the instant ``at``."""
        t = to_epoch(at)
        return bool(self.open_intervals_epoch(t, t + 1))


def to_epoch(at: datetime) -> int:
    """Return whole UTC epoch seconds of an aware instant (sub-seconds floored)."""
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"naive datetime {at!r}: an instant needs a zone")
    delta = at.astimezone(UTC) - datetime(1970, 1, 1, tzinfo=UTC)
    return delta.days * 86400 + delta.seconds


def from_epoch(seconds: int) -> datetime:
    """Return the aware UTC instant for whole epoch seconds."""
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(seconds=int(seconds))


def round_the_clock(timezone: str = "UTC", **kwargs: Any) -> BusinessCalendar:
    """Return a calendar open 24 hours a day, 7 days a week, in ``timezone``."""
    full = (OpenSpan(0, MINUTES_PER_DAY),)
    return BusinessCalendar(
        timezone=timezone, week=dict.fromkeys(range(7), full), **kwargs
    )
