"""The ``stallwatch worker`` process: evaluate alert rules and deliver the outbox.

Runs a tick every ``STALLWATCH_ALERT_INTERVAL_SECONDS``; SIGTERM or SIGINT
stops it between ticks. Killing it at any moment loses nothing: decisions and
their messages are in the store, and an interrupted delivery is resent with
the same message id after its lease runs out.
"""

from __future__ import annotations

import logging
import signal
import threading
from datetime import UTC, datetime, timedelta
from types import FrameType
from typing import TYPE_CHECKING

from stallwatch.settings import Settings

if TYPE_CHECKING:
    from models.alerts.scheduler import AlertScheduler

log = logging.getLogger("stallwatch.worker")


def _secret(value: object) -> str | None:
    getter = getattr(value, "get_secret_value", None)
    return getter() if getter is not None else None


def build_scheduler(settings: Settings) -> AlertScheduler:
    """Build the alert scheduler from the settings; raise if alerts are off."""
    from features.sla.desk import load_desk_file
    from models.alerts.delivery import Deliverer, DeliveryConfig
    from models.alerts.engine import AlertEngine
    from models.alerts.rules import load_rules_file
    from models.alerts.scheduler import AlertScheduler
    from models.backlog import Backlog
    from stallwatch.metrics import count_delivery
    from stallwatch.stores import open_store

    if settings.alert_rules is None:
        raise ValueError("STALLWATCH_ALERT_RULES is empty: alerts are turned off")
    rules = load_rules_file(settings.alert_rules)
    if rules.uses_webhooks() and settings.webhook_secret is None:
        raise ValueError(
            "the alert rules send webhooks: set STALLWATCH_WEBHOOK_SECRET "
            "(webhooks are never sent unsigned)"
        )
    engine = open_store(settings.database_url)
    backlog = Backlog(engine, load_desk_file(settings.sla_desk))
    scorer = None
    if rules.uses_model():
        # Only rules that read the stall model need it (and its libraries).
        from models.service import StallService

        scorer = StallService(backlog, settings.model_dir).scorer
    config = DeliveryConfig(
        smtp_host=settings.smtp_host,
        smtp_port=settings.smtp_port,
        smtp_from=settings.smtp_from,
        smtp_username=settings.smtp_username,
        smtp_password=_secret(settings.smtp_password),
        smtp_starttls=settings.smtp_starttls,
        webhook_secret=_secret(settings.webhook_secret),
        max_attempts=settings.alert_max_attempts,
        backoff=timedelta(seconds=settings.alert_backoff_seconds),
        lease=timedelta(seconds=settings.alert_lease_seconds),
    )
    return AlertScheduler(
        alerts=AlertEngine(backlog=backlog, rules=rules, scorer=scorer),
        deliverer=Deliverer(engine, config, on_outcome=count_delivery),
        full_sweep=timedelta(minutes=settings.alert_full_sweep_minutes),
    )


def tick_moment(
    replay: datetime | None, first_tick: datetime | None, wall: datetime
) -> datetime:
    """Return the instant a tick evaluates at.

    Live, the wall clock. In a replay, the replay moment itself on the first
    tick (so every ``--once`` run sees messages an earlier run left due at that
    moment), then advanced by the wall time since the first tick.
    """
    if replay is None:
        return wall
    return replay if first_tick is None else replay + (wall - first_tick)


def run_worker(settings: Settings, *, once: bool = False) -> str | None:
    """Tick until stopped (or once, returning a one-line summary of the tick)."""
    from features.alerts.outbox import pending_count

    scheduler = build_scheduler(settings)
    if settings.worker_metrics_port is not None and not once:
        from stallwatch.metrics import LiveCollector, serve_worker_metrics

        engine = scheduler.deliverer.engine
        serve_worker_metrics(
            settings.worker_metrics_host,
            settings.worker_metrics_port,
            LiveCollector(outbox_pending=lambda: pending_count(engine)),
        )
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        log.info("worker_stopping", extra={"signal": signum})
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    first_tick: datetime | None = None
    log.info("worker_started", extra={"rules": str(settings.alert_rules)})
    while not stop.is_set():
        wall = datetime.now(UTC)
        at = tick_moment(settings.now, first_tick, wall)
        first_tick = first_tick or wall
        try:
            report = scheduler.tick(at)
        except Exception as exc:  # a broken tick must not stop the worker
            log.exception("worker_tick_failed", extra={"error": repr(exc)})
            if once:
                raise
        if once:
            pending = pending_count(scheduler.deliverer.engine)
            return (
                f"tick at {at.isoformat()}: evaluated {report.evaluated}, "
                f"decided {report.decided}; {report.describe_delivery()}; "
                f"pending in the outbox {pending}"
            )
        stop.wait(settings.alert_interval_seconds)
    log.info("worker_stopped")
    return None
