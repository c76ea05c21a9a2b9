"""SLA engine: business calendars, policies and deterministic SLA clocks.

Public entry points:

- :func:`load_calendar` / :func:`load_calendar_file` -> :class:`BusinessCalendar`
- :func:`load_policy`, :func:`load_policy_set` / :func:`load_policy_set_file`
- :func:`compute_clocks` / :func:`compute_clock` for one ticket's events
- :func:`compute_clock_batch` for many open clocks at once
- :func:`run_case_directory` for the "sla-case/1" conformance files
"""

from features.sla.batch import (
    ClockBatch,
    ClockBatchInput,
    compute_clock_batch,
)
from features.sla.calendar import (
    BusinessCalendar,
    OpenSpan,
    PublicHolidays,
    round_the_clock,
)
from features.sla.calendar_loader import load_calendar, load_calendar_file
from features.sla.cases import CaseReport, load_case, run_case, run_case_directory
from features.sla.clocks import compute_clock, compute_clocks
from features.sla.model import (
    EVENT_KINDS,
    ClockResult,
    ClockSegment,
    ClockSnapshot,
    SlaEvent,
    TicketClocks,
)
from features.sla.policy import (
    TARGETS,
    PolicyRule,
    PolicySet,
    SlaPolicy,
    load_policy,
    load_policy_set,
    load_policy_set_file,
)
from features.sla.validation import ConfigIssue, SlaConfigError

__all__ = [
    "EVENT_KINDS",
    "TARGETS",
    "BusinessCalendar",
    "CaseReport",
    "ClockBatch",
    "ClockBatchInput",
    "ClockResult",
    "ClockSegment",
    "ClockSnapshot",
    "ConfigIssue",
    "OpenSpan",
    "PolicyRule",
    "PolicySet",
    "PublicHolidays",
    "SlaConfigError",
    "SlaEvent",
    "SlaPolicy",
    "TicketClocks",
    "compute_clock",
    "compute_clock_batch",
    "compute_clocks",
    "load_calendar",
    "load_calendar_file",
    "load_case",
    "load_policy",
    "load_policy_set",
    "load_policy_set_file",
    "round_the_clock",
    "run_case",
    "run_case_directory",
]
