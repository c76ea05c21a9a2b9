"""Starting the HTTP service: a free port, one process or several."""

from __future__ import annotations

import logging
import os
import socket

from stallwatch.settings import Settings

log = logging.getLogger("stallwatch.serve")


def check_port_free(host: str, port: int) -> str | None:
    """Return why ``host:port`` cannot be listened on, or None if it can."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family) as probe:
        # As uvicorn binds: a port left in TIME_WAIT is free, a listener is not.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            return (
                f"cannot serve on {host}:{port}: {exc.strerror or exc}; stop what "
                "listens there, or choose another port: `STALLWATCH_PORT=8013 make "
                "run`, or --port 8013 with `stallwatch serve` or `stallwatch demo`"
            )
    return None


def startup_problem(settings: Settings, host: str, port: int) -> str | None:
    """Return why the service would fail to start, or None: port, rules, store.

    An unreachable store raises ``StoreUnavailableError`` (one line, exit 2).
    """
    from stallwatch.stores import open_store

    if problem := check_port_free(host, port):
        return problem
    if settings.alert_rules is not None:
        from models.alerts.rules import AlertRulesError, load_rules_file

        try:
            load_rules_file(settings.alert_rules)
        except AlertRulesError as exc:
            return str(exc)
    # Made and migrated here, so the app and every worker find it ready.
    open_store(settings.database_url).dispose()
    return None


def serve_workers(settings: Settings, host: str, port: int, workers: int) -> None:
    """Run ``workers`` uvicorn processes, each building the app from the env.

    The store is migrated here first: workers starting together on a new
    store would otherwise race to create the same tables.
    """
    import uvicorn

    from features.store import create_schema, make_engine

    engine = make_engine(settings.database_url)
    create_schema(engine)
    engine.dispose()

    if settings.now is not None:  # each process reads the replay moment anew
        os.environ["STALLWATCH_NOW"] = settings.now.isoformat()
    if settings.prometheus_multiproc_dir is None:
        log.warning(
            "metrics_per_process",
            extra={
                "workers": workers,
                "hint": "set PROMETHEUS_MULTIPROC_DIR so /metrics sums every worker",
            },
        )
    uvicorn.run(
        "api.app:app_from_environment",
        factory=True,
        workers=workers,
        host=host,
        port=port,
        log_config=None,
    )
