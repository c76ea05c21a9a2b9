"""Reports for a support manager, computed from the event store as of a moment.

:class:`ReportService` hands each report plain dataclasses; the definitions of
the figures are in the docstrings of :mod:`models.reports.desk`,
:mod:`models.reports.sla` and :mod:`models.reports.record`.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pandas as pd

from models.reports.common import ReportPeriod
from models.reports.desk import (
    Fcr,
    HandoffMatrix,
    OpenAge,
    backlog_per_day,
    first_contact_resolution,
    handoff_matrix,
    open_age,
    weekly_open_by_category,
)
from models.reports.record import FlagRecord, ModelRecord, model_record
from models.reports.sla import TargetCompliance, sla_compliance
from models.service import StallService


class ReportService:
    """Computes the reports from the service's backlog and model."""

    def __init__(self, service: StallService) -> None:
        self.service = service
        self._records: dict[tuple[object, ...], ModelRecord] = {}
        self._lock = threading.Lock()

    @property
    def zone(self) -> str:
        """Return the zone of the desk's current calendar (its days and weeks)."""
        return self.service.backlog.desk.calendar_at(datetime.now(UTC)).timezone

    def choices(self, column: str) -> list[str]:
        """Return every value of a ticket attribute in the store, sorted."""
        events = self.service.backlog.events()
        return sorted(str(g) for g in events[column].dropna().unique())

    def backlog(self, period: ReportPeriod) -> list[tuple[str, int]]:
        """Return the open tickets at the end of each day."""
        return backlog_per_day(self.service.backlog.states(), period)

    def weekly_by_category(
        self, period: ReportPeriod
    ) -> tuple[list[str], list[str], list[list[int]]]:
        """Return open tickets by category at the end of each week."""
        return weekly_open_by_category(self.service.backlog.states(), period)

    def open_age(self, period: ReportPeriod) -> OpenAge:
        """Return the business age of the tickets open at the period's end."""
        backlog = self.service.backlog
        return open_age(backlog.states(), backlog.desk, period)

    def fcr(self, period: ReportPeriod) -> Fcr:
        """Return the first-contact resolution of the period's resolutions."""
        backlog = self.service.backlog
        return first_contact_resolution(backlog.states(), backlog.events(), period)

    def sla(self, period: ReportPeriod) -> list[TargetCompliance]:
        """Return SLA compliance by target for the tickets created in the period."""
        backlog = self.service.backlog
        return sla_compliance(
            backlog.states(), backlog.events(), backlog.rows_at, period
        )

    def handoffs(self, period: ReportPeriod) -> HandoffMatrix:
        """Return the hand-off matrix of the period."""
        return handoff_matrix(self.service.backlog.events(), period)

    def record(self, period: ReportPeriod) -> ModelRecord:
        """Return the model's record over the period's daily reviews (cached)."""
        backlog = self.service.backlog
        scorer = self.service.scorer()
        events = backlog.events()
        key = (period, len(events), None if scorer is None else scorer.version)
        with self._lock:
            if key in self._records:
                return self._records[key]
        record = model_record(backlog.states(), events, backlog.rows_at, scorer, period)
        with self._lock:
            self._records = {key: record}
        return record


def default_period(as_of: datetime, *, days: int = 28) -> tuple[datetime, datetime]:
    """Return the ``days`` before ``as_of`` as a report period."""
    end = pd.Timestamp(as_of)
    return (end - pd.Timedelta(days=days)).to_pydatetime(), end.to_pydatetime()


__all__ = [
    "Fcr",
    "FlagRecord",
    "HandoffMatrix",
    "ModelRecord",
    "OpenAge",
    "ReportPeriod",
    "ReportService",
    "TargetCompliance",
    "default_period",
]
