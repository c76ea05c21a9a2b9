"""`stallwatch worker --once` prints how each delivery attempt ended.

Three breached tickets make three e-mails to a real SMTP server on loopback
(or to a port where nothing listens). Counted by hand from the server's
answers: 250 is sent, 451 is a retry later, 550 is a dead letter.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from typer.testing import CliRunner

from features.alerts.outbox import outbox_rows
from features.store import create_schema, make_engine, write_events
from stallwatch.settings import get_settings
from tests.conftest import EventMaker, frame
from tests.models.alerts.conftest import FIRST_RESPONSE_RULES, Mailbox, free_port

RULES = FIRST_RESPONSE_RULES
#: Three days after the tickets were opened, none answered: all breached.
NOW = "2016-03-10T09:00:00+00:00"


def _tick(
    tmp_path: Path,
    event: EventMaker,
    monkeypatch: pytest.MonkeyPatch,
    *,
    smtp_port: int,
    max_attempts: int = 8,
) -> tuple[int, str, Counter[str]]:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    engine = make_engine(url)
    create_schema(engine)
    write_events(
        engine,
        frame(
            [
                event(f"T{n}", "2016-03-07T09:00Z", "created", priority="moderate")
                for n in range(3)
            ]
        ),
    )
    (tmp_path / "rules.yaml").write_text(RULES)
    settings = {
        "DATABASE_URL": url,
        "MODEL_DIR": str(tmp_path / "models"),
        "ALERT_RULES": str(tmp_path / "rules.yaml"),
        "SMTP_PORT": str(smtp_port),
        "ALERT_MAX_ATTEMPTS": str(max_attempts),
        "NOW": NOW,
    }
    for name, value in settings.items():
        monkeypatch.setenv(f"STALLWATCH_{name}", value)
    get_settings.cache_clear()
    try:
        from stallwatch.cli import app

        result = CliRunner().invoke(app, ["worker", "--once"])
    finally:
        get_settings.cache_clear()
    states = Counter(row["state"] for row in outbox_rows(engine))
    return result.exit_code, result.output.strip().splitlines()[-1], states


def test_worker_once_counts_sent_retry_and_dead_letter(
    smtp: tuple[Mailbox, int],
    event: EventMaker,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    mailbox, port = smtp
    mailbox.refusals = ["451 4.3.0 try again later", "550 5.1.1 no such mailbox"]

    code, line, states = _tick(tmp_path, event, monkeypatch, smtp_port=port)

    assert code == 0, line
    assert line == (
        f"tick at {NOW}: evaluated 3, decided 3; sent 1, to retry 1, "
        "dead-lettered 1; pending in the outbox 1"
    )
    assert len(mailbox.messages) == 1
    assert states == Counter({"sent": 1, "pending": 1, "dead": 1})


def test_worker_once_refused_connection_is_no_delivery(
    event: EventMaker, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, line, states = _tick(tmp_path, event, monkeypatch, smtp_port=free_port())

    assert code == 0, line
    assert line == (
        f"tick at {NOW}: evaluated 3, decided 3; sent 0, to retry 3, "
        "dead-lettered 0; pending in the outbox 3"
    )
    assert states == Counter({"pending": 3})


def test_worker_once_last_refused_attempt_is_dead_lettered(
    event: EventMaker, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, line, states = _tick(
        tmp_path, event, monkeypatch, smtp_port=free_port(), max_attempts=1
    )

    assert code == 0, line
    assert line == (
        f"tick at {NOW}: evaluated 3, decided 3; sent 0, to retry 0, "
        "dead-lettered 3; pending in the outbox 0"
    )
    assert states == Counter({"dead": 3})
