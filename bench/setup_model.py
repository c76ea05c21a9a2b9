"""A bench's own store and model, and a real ticket of about 20 events to score.

The first run imports the bundled UCI log into ``<workdir>/store.db`` and
trains and promotes the demo's model (``stallwatch demo --no-serve``: known
at 23 May 2016 09:00 UTC, policy label) into ``<workdir>/models`` and the
MLflow registry ``<workdir>/mlflow.db``; later runs reuse them. Nothing
outside the work folder is touched.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pandas as pd

from features.events import EVENT_COLUMNS
from features.store import make_engine, read_events

#: The demo's replay moment: the service scores as of it.
MOMENT = pd.Timestamp("2016-05-23T09:00:00+00:00")
#: Fields a CRM sends per event (the API's ``EventIn``).
EVENT_FIELDS = tuple(
    c for c in EVENT_COLUMNS if c not in ("source", "ticket_id", "seq")
)


def bench_env(workdir: Path) -> dict[str, str]:
    """Return the environment that points stallwatch and MLflow at ``workdir``."""
    venv_bin = str(Path(sys.executable).parent)
    return {
        **os.environ,
        "PATH": f"{venv_bin}{os.pathsep}{os.environ.get('PATH', '')}",
        "STALLWATCH_DATABASE_URL": f"sqlite:///{workdir / 'store.db'}",
        "STALLWATCH_MODEL_DIR": str(workdir / "models"),
        "STALLWATCH_MLFLOW_TRACKING_URI": f"sqlite:///{workdir / 'mlflow.db'}",
        "MLFLOW_TRACKING_URI": f"sqlite:///{workdir / 'mlflow.db'}",
        "STALLWATCH_NOW": MOMENT.isoformat(),
        "STALLWATCH_LOG_LEVEL": "WARNING",
        "STALLWATCH_ALERT_RULES": "",
    }


def prepare(workdir: Path) -> dict[str, str]:
    """Import, train and promote once into ``workdir``; return its environment."""
    workdir.mkdir(parents=True, exist_ok=True)
    env = bench_env(workdir)
    if not (workdir / "models" / "CURRENT").exists():
        print(f"bench: importing and training the demo model into {workdir} ...")
        command = [str(Path(sys.executable).parent / "stallwatch"), "demo"]
        subprocess.run([*command, "--no-serve"], env=env, check=True)
    if not (workdir / "models" / "CURRENT").exists():
        raise SystemExit(f"bench: no model was promoted in {workdir}")
    return env


def sample_ticket(
    workdir: Path, n_events: int = 20
) -> tuple[str, list[dict[str, Any]]]:
    """Return a real ticket open at :data:`MOMENT` with about ``n_events`` events.

    Its events up to the moment, renamed ``BENCH-<id>`` so the store does not
    hold it (a CRM's new ticket); fields left out where missing.
    """
    engine = make_engine(f"sqlite:///{workdir / 'store.db'}")
    events = read_events(engine)
    engine.dispose()
    known = events[events["occurred_at"] <= MOMENT]
    counts = known.groupby("ticket_id").size()
    done = known.groupby("ticket_id")["status"].last().isin(["resolved", "closed"])
    candidates = counts[~done.reindex(counts.index, fill_value=False)]
    ticket = str((candidates - n_events).abs().sort_values(kind="stable").index[0])
    rows = known[known["ticket_id"] == ticket][list(EVENT_FIELDS)]
    sent = [
        {k: v for k, v in r.items() if v is not pd.NA and v is not None}
        for r in rows.astype(object).to_dict("records")
    ]
    return f"BENCH-{ticket}", sent


def request_body(ticket_id: str, events: list[dict[str, Any]]) -> dict[str, Any]:
    """Return the JSON body of ``POST /v1/risk-scores`` for one sent ticket."""
    return {
        "at": MOMENT.isoformat(),
        "tickets": [
            {
                "ticket_id": ticket_id,
                "events": [
                    {
                        **e,
                        "occurred_at": pd.Timestamp(e["occurred_at"]).isoformat(),
                    }
                    for e in events
                ],
            }
        ],
    }
