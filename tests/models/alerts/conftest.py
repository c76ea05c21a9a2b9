"""Real servers on loopback for the alert tests: SMTP (aiosmtpd) and HTTP."""

from __future__ import annotations

import asyncio
import email
import json
import logging
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from email.message import Message
from email.policy import default
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Mailbox:
    """What the SMTP server accepted, and what it answers next."""

    messages: list[Message] = field(default_factory=list)
    #: Replies to give instead of accepting, one per message, e.g. "451 later".
    refusals: list[str] = field(default_factory=list)
    #: Seconds the server takes before it answers each message.
    delay: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        if self.delay:
            await asyncio.sleep(self.delay)
        with self.lock:
            if self.refusals:
                return self.refusals.pop(0)
            parsed = email.message_from_bytes(envelope.content, policy=default)
            self.messages.append(parsed)
        return "250 Message accepted for delivery"

    def ids(self) -> list[str]:
        """Return the Message-ID of every accepted message, in arrival order."""
        with self.lock:
            return [str(m["Message-ID"]) for m in self.messages]


@pytest.fixture
def smtp() -> Iterator[tuple[Mailbox, int]]:
    """A real SMTP server on 127.0.0.1 and a free port."""
    mailbox = Mailbox()
    port = free_port()
    # aiosmtpd logs every connection at info from its own thread, which can
    # outlive the test's captured stream; its chatter is not the test's subject.
    logging.getLogger("mail.log").setLevel(logging.WARNING)
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield mailbox, port
    controller.stop()


@dataclass
class Received:
    """One HTTP request the test server received."""

    path: str
    headers: dict[str, str]
    body: bytes


@pytest.fixture
def http_server() -> Iterator[tuple[list[Received], int, list[int]]]:
    """A real HTTP server on 127.0.0.1; answers each POST with the next status."""
    received: list[Received] = []
    statuses: list[int] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length)
            received.append(Received(self.path, dict(self.headers), body))
            status = statuses.pop(0) if statuses else 200
            self.send_response(status)
            self.end_headers()
            self.wfile.write(json.dumps({"ok": status < 300}).encode())

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield received, int(server.server_address[1]), statuses
    server.shutdown()
    server.server_close()


def write_rules(path: Path, text: str) -> Path:
    """Write a rule file and return its path."""
    path.write_text(text, encoding="utf-8")
    return path


REPO = Path(__file__).resolve().parents[3]
DEFAULT_RULES = REPO / "models" / "alerts" / "default_rules.yaml"
UCI_DESK = REPO / "features" / "sla" / "desks" / "uci.yaml"
#: One team, e-mailed urgently for every breached first response.
FIRST_RESPONSE_RULES = """
version: 1
recipients:
  team: {email: team@example.invalid}
routing:
  teams: {"*": team}
rules:
  - name: sla_breach
    when: {clock: first_response, breached: true}
    then: {mark: red, notify_team: true, urgent: true}
"""


def _wal(connection: Any, record: Any) -> None:
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


@dataclass
class Stack:
    """An alert engine, its scheduler and the store behind them."""

    engine: Any
    alerts: Any
    scheduler: Any


def make_stack(
    url: str,
    *,
    smtp_port: int,
    rules: Path = DEFAULT_RULES,
    webhook_secret: str | None = None,
    wal: bool = False,
    **delivery: Any,
) -> Stack:
    """Build the alert engine and scheduler over a migrated store at ``url``.

    ``wal`` puts a SQLite store in WAL mode with ``synchronous=NORMAL`` (safe
    against a crashed process, not a power cut), so that a test sending
    hundreds of messages does not wait for a disk flush after each one.
    """
    from features.sla.desk import load_desk_file
    from features.store import create_schema, make_engine
    from models.alerts.delivery import Deliverer, DeliveryConfig
    from models.alerts.engine import AlertEngine
    from models.alerts.rules import load_rules_file
    from models.alerts.scheduler import AlertScheduler
    from models.backlog import Backlog

    engine = make_engine(url)
    if wal and engine.dialect.name == "sqlite":
        sa.event.listen(engine, "connect", _wal)
    create_schema(engine)
    backlog = Backlog(engine, load_desk_file(UCI_DESK))
    alerts = AlertEngine(backlog=backlog, rules=load_rules_file(rules))
    config = DeliveryConfig(
        smtp_port=smtp_port, webhook_secret=webhook_secret, **delivery
    )
    scheduler = AlertScheduler(alerts=alerts, deliverer=Deliverer(engine, config))
    return Stack(engine, alerts, scheduler)


def replay(
    stack: Stack,
    pending: list[dict[str, Any]],
    start: str,
    end: str,
    *,
    step_minutes: int = 60,
) -> None:
    """Tick from ``start`` to ``end``, storing each event when it happens.

    Before each tick the events that occurred by then are written to the
    store (and removed from ``pending``), as a CRM would send them live.
    """
    import pandas as pd

    from features.store import write_events
    from tests.conftest import frame

    at = pd.Timestamp(start).to_pydatetime()
    stop = pd.Timestamp(end).to_pydatetime()
    while at <= stop:
        due = [e for e in pending if pd.Timestamp(e["occurred_at"]) <= at]
        if due:
            write_events(stack.engine, frame(due))
            pending[:] = [e for e in pending if e not in due]
        stack.scheduler.tick(at)
        at += timedelta(minutes=step_minutes)
