"""A calendar's open intervals as arrays, with cumulative business seconds."""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import numpy.typing as npt

IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class OpenAxis:
    """Open intervals as epoch seconds with cumulative business seconds.

    ``cum_start[i]`` / ``cum_end[i]`` are the business seconds counted from the
    calendar's anchor to the start / end of interval ``i``.
    """

    starts: IntArray
    ends: IntArray
    cum_start: IntArray
    cum_end: IntArray

    @classmethod
    def empty(cls) -> OpenAxis:
        none = np.zeros(0, dtype=np.int64)
        return cls(none, none, none, none)

    def cumulative(self, t: IntArray) -> IntArray:
        """Business seconds from the anchor to each instant in ``t``."""
        if len(self.starts) == 0:
            return np.zeros_like(t)
        idx = np.searchsorted(self.starts, t, side="right") - 1
        safe = np.clip(idx, 0, None)
        inside = np.minimum(t, self.ends[safe]) - self.starts[safe]
        value = self.cum_start[safe] + inside
        # Before the first interval the count is the first interval's start.
        return np.where(idx < 0, self.cum_start[0], value).astype(np.int64)

    @cached_property
    def lists(self) -> tuple[list[int], list[int], list[int], list[int]]:
        """The arrays as Python lists, for one-instant look-ups without numpy."""
        return (
            self.starts.tolist(),
            self.ends.tolist(),
            self.cum_start.tolist(),
            self.cum_end.tolist(),
        )

    def cumulative_one(self, t: int) -> int:
        """Business seconds from the anchor to one instant (see cumulative)."""
        starts, ends, cum_start, _ = self.lists
        if not starts:
            return 0
        i = bisect_right(starts, t) - 1
        if i < 0:
            return cum_start[0]
        return cum_start[i] + min(t, ends[i]) - starts[i]

    def add_one(self, start: int, seconds: int) -> int | None:
        """One instant plus business seconds; None when past the built range."""
        starts, _, cum_start, cum_end = self.lists
        goal = self.cumulative_one(start) + seconds
        if not cum_end or goal > cum_end[-1]:
            return None
        i = bisect_left(cum_end, goal)
        return max(starts[i] + goal - cum_start[i], start)
