"""Signed webhooks and chat payloads against a real HTTP server on loopback."""

from __future__ import annotations

import json
import time
from datetime import timedelta
from pathlib import Path

import pandas as pd
import pytest

from features.alerts.outbox import outbox_rows
from features.store import write_events
from models.alerts.signing import SignatureError, signature, verify
from tests.conftest import EventMaker, frame
from tests.models.alerts.conftest import Mailbox, Received, make_stack

SECRET = "s3cret-for-tests"
T = pd.Timestamp("2016-03-08T10:00Z").to_pydatetime()


def _rules(path: Path, port: int) -> Path:
    path.write_text(
        f"""
version: 1
recipients:
  manager:
    webhook: http://127.0.0.1:{port}/hook
    chat: http://127.0.0.1:{port}/chat
routing:
  roles: {{shift_manager: manager}}
rules:
  - name: sla_breach
    when: {{clock: first_response, breached: true}}
    then: {{mark: red, escalate_to: shift_manager, reassign_to: Tier2,
            raise_priority: true, urgent: true}}
"""
    )
    return path


def test_deliver_webhook_is_signed_and_chat_is_slack_shaped(
    sqlite_url: str,
    smtp: tuple[Mailbox, int],
    http_server: tuple[list[Received], int, list[int]],
    event: EventMaker,
    tmp_path: Path,
) -> None:
    received, port, statuses = http_server
    stack = make_stack(
        sqlite_url,
        smtp_port=smtp[1],
        rules=_rules(tmp_path / "rules.yaml", port),
        webhook_secret=SECRET,
    )
    write_events(
        stack.engine,
        frame([event("W1", "2016-03-07T09:00Z", "created", priority="moderate")]),
    )
    statuses.extend([503])  # the first webhook attempt fails and is retried

    stack.scheduler.tick(T)
    assert sorted(r.path for r in received) == ["/chat", "/hook"]
    stack.scheduler.tick(T + timedelta(seconds=30))
    hooks = [r for r in received if r.path == "/hook"]
    assert len(hooks) == 2
    assert hooks[0].body == hooks[1].body
    assert {r["state"] for r in outbox_rows(stack.engine)} == {"sent"}

    hook = hooks[1]
    verify(SECRET, hook.headers, hook.body, now=time.time())
    document = json.loads(hook.body)
    assert document["ticket_id"] == "W1"
    assert document["cycle"] == "first_response@2016-03-07T09:00:00Z"
    assert {"type": "reassign", "group": "Tier2"} in document["actions"]
    assert {"type": "raise_priority", "from": "moderate", "to": "high"} in document[
        "actions"
    ]
    assert hook.headers["X-Stallwatch-Delivery"].startswith("W1|sla_breach|")

    chat = json.loads(next(r for r in received if r.path == "/chat").body)
    assert chat["text"] == "[stallwatch] RED W1: sla_breach"
    assert chat["blocks"][0]["type"] == "section"
    assert (
        "first response clock breached 1.0 h ago" in chat["blocks"][0]["text"]["text"]
    )


def test_verify_refuses_replay_tampering_and_missing_headers() -> None:
    body = b'{"ticket_id": "W1"}'
    sent_at = 1_700_000_000
    headers = {
        "X-Stallwatch-Timestamp": str(sent_at),
        "X-Stallwatch-Signature": signature(SECRET, sent_at, body),
    }

    verify(SECRET, headers, body, now=sent_at + 299)
    with pytest.raises(SignatureError, match="outside the replay window of 300 s"):
        verify(SECRET, headers, body, now=sent_at + 301)
    with pytest.raises(SignatureError, match="does not match the body"):
        verify(SECRET, headers, b'{"ticket_id": "W2"}', now=sent_at)
    with pytest.raises(SignatureError, match="does not match the body"):
        verify("other-secret", headers, body, now=sent_at)
    with pytest.raises(SignatureError, match="missing header"):
        verify(SECRET, {}, body, now=sent_at)


def test_deliver_webhook_without_secret_is_a_visible_dead_letter(
    sqlite_url: str,
    smtp: tuple[Mailbox, int],
    http_server: tuple[list[Received], int, list[int]],
    event: EventMaker,
    tmp_path: Path,
) -> None:
    received, port, _ = http_server
    stack = make_stack(
        sqlite_url, smtp_port=smtp[1], rules=_rules(tmp_path / "rules.yaml", port)
    )
    write_events(stack.engine, frame([event("W1", "2016-03-07T09:00Z", "created")]))

    stack.scheduler.tick(T)

    states = {
        r["channel"]: (r["state"], r["last_error"]) for r in outbox_rows(stack.engine)
    }
    assert states["chat"] == ("sent", None)
    assert states["webhook"][0] == "dead"
    assert "STALLWATCH_WEBHOOK_SECRET is not set" in states["webhook"][1]
    assert [r.path for r in received] == ["/chat"]
