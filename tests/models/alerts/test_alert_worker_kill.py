"""Kill the worker process in the middle of a burst; start it again.

Thirty breached tickets make thirty alerts, one e-mail each, to a real SMTP
server that takes 30 ms per message. The worker (a real ``stallwatch worker``
subprocess) is killed with SIGKILL once ten messages are in, then restarted.
No message may be lost and none may arrive as two different messages: every
outbox row arrives, under its own Message-ID. The message in flight at the
kill may have reached the server before the worker recorded it; the worker
then resends it under the same Message-ID (receivers drop such a copy) and
records that attempt as in doubt, so any extra copy must match one.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from features.alerts.outbox import outbox_rows
from features.alerts.tables import alerts_table, audit_table
from features.store import create_schema, make_engine, write_events
from models.alerts.delivery import message_id
from tests.conftest import EventMaker, frame
from tests.models.alerts.conftest import FIRST_RESPONSE_RULES, REPO, Mailbox

STORES = [
    pytest.param("sqlite_url", id="sqlite"),
    pytest.param("postgres_url", id="postgresql", marks=pytest.mark.postgres),
]
RULES = FIRST_RESPONSE_RULES
TICKETS = 30


def _start(env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "stallwatch.cli", "worker"],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def _wait(condition: Any, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {seconds} s waiting for {what}")
        time.sleep(0.02)


@pytest.mark.parametrize("store", STORES)
def test_worker_killed_mid_burst_loses_none_and_doubles_none(
    store: str,
    request: pytest.FixtureRequest,
    smtp: tuple[Mailbox, int],
    event: EventMaker,
    tmp_path: Path,
) -> None:
    url = request.getfixturevalue(store)
    mailbox, port = smtp
    mailbox.delay = 0.03
    engine = make_engine(url)
    create_schema(engine)
    created = datetime.now(UTC) - timedelta(days=3)
    write_events(
        engine,
        frame(
            [
                event(f"K{n}", created.isoformat(), "created", priority="low")
                for n in range(TICKETS)
            ]
        ),
    )
    (tmp_path / "rules.yaml").write_text(RULES)
    env = {
        **os.environ,
        "STALLWATCH_DATABASE_URL": url,
        "STALLWATCH_MODEL_DIR": str(tmp_path / "models"),
        "STALLWATCH_ALERT_RULES": str(tmp_path / "rules.yaml"),
        "STALLWATCH_SMTP_PORT": str(port),
        "STALLWATCH_ALERT_INTERVAL_SECONDS": "0.2",
        "STALLWATCH_ALERT_LEASE_SECONDS": "1.5",
        "STALLWATCH_LOG_FORMAT": "json",
    }

    first = _start(env)
    _wait(lambda: len(mailbox.messages) >= 10, 60, "the burst to begin")
    first.send_signal(signal.SIGKILL)
    first.wait(10)
    rows = outbox_rows(engine)
    assert len(rows) == TICKETS
    # The tenth may have reached the server before the worker recorded it.
    assert 9 <= sum(r["state"] == "sent" for r in rows) < TICKETS

    second = _start(env)
    try:
        _wait(
            lambda: all(r["state"] == "sent" for r in outbox_rows(engine)),
            60,
            "every message to be sent",
        )
    finally:
        second.send_signal(signal.SIGTERM)
        _, errors = second.communicate(timeout=20)
    assert second.returncode == 0, errors.decode()[-2000:]

    rows = outbox_rows(engine)
    with engine.connect() as conn:
        alerts = conn.execute(sa.select(sa.func.count()).select_from(alerts_table))
        in_doubt = conn.execute(
            sa.select(audit_table.c.outbox_id).where(
                audit_table.c.kind == "delivery_in_doubt"
            )
        ).scalars()
        resent = Counter(in_doubt)
        assert alerts.scalar_one() == TICKETS
    received = Counter(mailbox.ids())
    expected = {message_id(r["key"]) for r in rows}
    assert len(expected) == TICKETS
    assert set(received) == expected
    copies = {mid: n - 1 for mid, n in received.items() if n > 1}
    by_id = {message_id(r["key"]): r["id"] for r in rows}
    for mid, extra in copies.items():
        assert extra <= resent[by_id[mid]]
    assert sum(copies.values()) <= 1
    engine.dispose()
