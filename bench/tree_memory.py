"""Peak resident memory of this process and every process it starts.

A step that hands work to worker processes (joblib's loky pool) holds memory
outside this process, which its own high-water mark (``VmHWM``) does not
count. :class:`TreeMemory` samples the resident size of this process and all
its descendants (psutil) on a background thread and keeps the largest sum.
Sampling can miss a peak shorter than the interval, so the figure is a lower
bound; the step's own ``VmHWM`` is the other one.
"""

from __future__ import annotations

import threading
from types import TracebackType

import psutil


class TreeMemory:
    """Context manager: ``peak_mb`` of this process tree while it is open."""

    def __init__(self, interval_s: float = 0.1) -> None:
        self.interval_s = interval_s
        self.peak_mb = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def _sample(self) -> float:
        me = psutil.Process()
        total = 0
        for process in [me, *me.children(recursive=True)]:
            try:
                total += process.memory_info().rss
            except psutil.Error:  # ended between listing and reading
                continue
        return total / 2**20

    def _watch(self) -> None:
        while not self._stop.is_set():
            self.peak_mb = max(self.peak_mb, self._sample())
            self._stop.wait(self.interval_s)

    def __enter__(self) -> TreeMemory:
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join()
        self.peak_mb = max(self.peak_mb, self._sample())
