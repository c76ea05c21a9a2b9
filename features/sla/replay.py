"""Replaying one ticket's SLA events into clock timelines and pauses.

:class:`TicketReplay` applies a ticket's events in order under the rules that
:mod:`features.sla.clocks` describes, and keeps, per target, each clock's
timeline (:class:`ClockRun`: start, stop, target) and the ticket's pauses.
Business time is counted from these timelines by :mod:`features.sla.clocks`.
"""

from __future__ import annotations

from dataclasses import dataclass

from features.sla.calendar import to_epoch
from features.sla.model import SlaEvent
from features.sla.policy import TARGETS, SlaPolicy, Target


def minutes_to_seconds(minutes: float | None) -> int | None:
    """Return a target in minutes as whole seconds (None stays None)."""
    return None if minutes is None else round(minutes * 60)


@dataclass
class ClockRun:
    # One clock's timeline; the target is attached, not baked in.
    target: Target
    start: int
    target_seconds: int | None
    stop: int | None = None
    stopped_paused: bool = False


class TicketReplay:
    """Apply events in order, keeping the ticket's pauses and clock timelines."""

    def __init__(self, policy: SlaPolicy) -> None:
        self.policy = policy
        self.status: str | None = None
        self.created = False
        self.done = False
        self.merged = False
        self.first_reply_done = False
        self.customer_waiting_while_done = False
        self.paused_since: int | None = None
        self.pauses: list[tuple[int, int]] = []
        self.runs: dict[Target, list[ClockRun]] = {t: [] for t in TARGETS}

    # -------------------------------------------------------------- helpers

    def _set_paused(self, now: int, paused: bool) -> None:
        if paused and self.paused_since is None:
            self.paused_since = now
        elif not paused and self.paused_since is not None:
            if now > self.paused_since:
                self.pauses.append((self.paused_since, now))
            self.paused_since = None

    def _set_status(self, now: int, status: str) -> None:
        self.status = status
        self._set_paused(now, not self.done and status in self.policy.pause_statuses)

    def _open_run(self, target: Target) -> ClockRun | None:
        runs = self.runs[target]
        return runs[-1] if runs and runs[-1].stop is None else None

    def _start(self, target: Target, now: int) -> None:
        if self._open_run(target) is None:
            seconds = minutes_to_seconds(self.policy.target_minutes(target))
            self.runs[target].append(ClockRun(target, now, seconds))

    def _stop(self, target: Target, now: int) -> None:
        run = self._open_run(target)
        if run is not None:
            run.stop = now
            run.stopped_paused = self.paused_since is not None

    def _follow_up_may_start(self) -> bool:
        return self.first_reply_done or self.policy.first_response_minutes is None

    # --------------------------------------------------------------- events

    def apply(self, event: SlaEvent) -> None:
        """Apply one event; events after a merge are ignored."""
        if self.merged:
            return
        now = to_epoch(event.at)
        handler = getattr(self, f"_on_{event.kind}", None)
        if not self.created and event.kind != "created":
            raise ValueError(
                f"event {event.kind!r} at {event.at.isoformat()} comes before "
                "'created'; expected the timeline to start with 'created'"
            )
        if handler is not None:
            handler(event, now)
        if event.status is not None and not self.merged:
            self._set_status(now, event.status)

    def _on_created(self, event: SlaEvent, now: int) -> None:
        if self.created:
            return
        self.created = True
        self._start("first_response", now)
        self._start("resolution", now)
        no_first_target = self.policy.first_response_minutes is None
        if self.policy.follow_up_mode == "customer_waiting" and no_first_target:
            self._start("next_response", now)

    def _on_customer_message(self, event: SlaEvent, now: int) -> None:
        if self.done:
            self.customer_waiting_while_done = True
            return
        if self.paused_since is not None and event.status is None:
            self._set_status(now, "open")
        mode = self.policy.follow_up_mode
        if mode == "customer_waiting" and self._follow_up_may_start():
            self._start("next_response", now)

    def _on_agent_reply(self, event: SlaEvent, now: int) -> None:
        self.first_reply_done = True
        if self.done:
            return
        self._stop("first_response", now)
        self._stop("next_response", now)
        if self.policy.follow_up_mode == "between_agent_updates":
            self._start("next_response", now)

    def _finish(self, now: int) -> None:
        if self.done:
            return
        for target in TARGETS:
            self._stop(target, now)
        self._set_paused(now, False)
        self.done = True

    def _on_resolved(self, event: SlaEvent, now: int) -> None:
        self._finish(now)

    def _on_closed(self, event: SlaEvent, now: int) -> None:
        self._finish(now)

    def _on_reopened(self, event: SlaEvent, now: int) -> None:
        if not self.done:
            return
        self.done = False
        self.status = "open"
        self._start("resolution", now)
        waiting = self.customer_waiting_while_done
        self.customer_waiting_while_done = False
        if waiting and self.policy.follow_up_mode == "customer_waiting":
            self._start("next_response", now)

    def _on_merged(self, event: SlaEvent, now: int) -> None:
        self._finish(now)
        self.merged = True

    def _on_policy_changed(self, event: SlaEvent, now: int) -> None:
        assert event.policy is not None
        self.policy = self.policy.updated(event.policy, source="policy_changed event")
        for target in TARGETS:
            run = self._open_run(target)
            if run is not None:
                run.target_seconds = minutes_to_seconds(
                    self.policy.target_minutes(target)
                )
        if self.status is not None:
            self._set_status(now, self.status)
