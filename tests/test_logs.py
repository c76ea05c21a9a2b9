"""JSON logs carry no e-mail address, phone number or ticket text."""

from __future__ import annotations

import io
import json
import logging
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import structlog
from fastapi.testclient import TestClient

from stallwatch.logs import EMAIL_MARK, PHONE_MARK, configure_logging, redact_text
from stallwatch.settings import Settings


@pytest.fixture
def json_logs() -> Iterator[Any]:
    """Log in JSON into a text stream; return a reader of the records."""
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    configure_logging(fmt="json", level="INFO")
    stream = io.StringIO()
    (handler,) = root.handlers
    assert isinstance(handler, logging.StreamHandler)
    handler.setStream(stream)

    def records() -> list[dict[str, Any]]:
        lines = stream.getvalue().splitlines()
        return [json.loads(line) for line in lines]

    yield records
    root.handlers[:], level = saved
    root.setLevel(level)
    structlog.reset_defaults()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("to maria.rossi+desk@example.co.uk.", f"to {EMAIL_MARK}."),
        ("call +44 20 7946 0958 now", f"call {PHONE_MARK} now"),
        ("(555) 123-4567 or 555.123.4567", f"{PHONE_MARK} or {PHONE_MARK}"),
        ("mobile 07700900123", f"mobile {PHONE_MARK}"),
        ("tel:+1-555-123-4567", f"tel:{PHONE_MARK}"),
        # Instants, ids, addresses, counts and decimals are not phone numbers.
        ("at 2016-03-16T09:00:00.123456+00:00", "at 2016-03-16T09:00:00.123456+00:00"),
        ("2016-03-16 09:00:00 UTC", "2016-03-16 09:00:00 UTC"),
        ("INC0001381 model 20261204T101010Z", "INC0001381 model 20261204T101010Z"),
        ("127.0.0.1:8000 and 192.168.100.200", "127.0.0.1:8000 and 192.168.100.200"),
        (
            "141712 rows in 12.5 s, p 0.123456789",
            "141712 rows in 12.5 s, p 0.123456789",
        ),
    ],
)
def test_redact_text_replaces_emails_and_phones_only(text: str, expected: str) -> None:
    assert redact_text(text) == expected


def test_json_log_lines_are_redacted_in_message_fields_and_tracebacks(
    json_logs: Any,
) -> None:
    stdlib = logging.getLogger("stallwatch.test")
    stdlib.warning(
        "alert_delivery_failed",
        extra={
            "recipient": "maria.rossi@example.com",
            "error": "550 mailbox of +39 06 1234 5678 is full",
            "ticket_id": "INC0001381",
            "attempt": 3,
            "copies": {"cc": ["ops@example.org", "tier2"]},
        },
    )
    stdlib.info("reply from %s", "j.doe@example.net")
    structlog.get_logger("stallwatch.test").info(
        "webhook_sent", to="hooks@example.io", phone="(555) 123-4567"
    )
    try:
        raise ValueError("bad reply-to: j.doe@example.net, +1 555 123 4567")
    except ValueError:
        stdlib.exception("worker_tick_failed")

    records = json_logs()

    assert len(records) == 4
    first, second, third, fourth = records
    assert first["event"] == "alert_delivery_failed"
    assert first["recipient"] == EMAIL_MARK
    assert first["error"] == f"550 mailbox of {PHONE_MARK} is full"
    assert (first["ticket_id"], first["attempt"]) == ("INC0001381", 3)
    assert first["copies"] == {"cc": [EMAIL_MARK, "tier2"]}
    assert first["timestamp"].endswith("Z")
    assert second["event"] == f"reply from {EMAIL_MARK}"
    assert (third["to"], third["phone"]) == (EMAIL_MARK, PHONE_MARK)
    assert "ValueError: bad reply-to: [email], [phone]" in fourth["exception"]
    # The timestamps' microseconds may hold any digits, so they are left out
    # of the search for leaked numbers once their shape is checked above.
    text = json.dumps(
        [{k: v for k, v in r.items() if k != "timestamp"} for r in records]
    )
    assert "@example" not in text and "555" not in text and "1234" not in text


def test_ticket_text_sent_to_the_api_never_reaches_the_logs(
    json_logs: Any, tmp_path: Path
) -> None:
    from api.app import create_app
    from tests.api.admin_key import admin_headers

    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'store.db'}",
        model_dir=tmp_path / "no-model",
    )
    topic = "printer in room QZX-SECRET on fire, mail kim@example.com"
    event = {
        "event_id": "e1",
        "ticket_id": "T1",
        "occurred_at": "2016-03-01T09:00:00Z",
        "kind": "created",
        "topic": topic,
        "requester": "kim@example.com",
    }
    inline = {k: v for k, v in event.items() if k != "ticket_id"}
    with TestClient(create_app(settings)) as client:
        client.headers.update(admin_headers(settings))
        stored = client.post("/v1/events", json={"events": [event]})
        refused = client.post(
            "/v1/events", json={"events": [event | {"event_id": "e2", "kind": "?"}]}
        )
        scored = client.post(
            "/v1/risk-scores",
            json={"tickets": [{"ticket_id": "T9", "events": [inline]}]},
        )
        sla = client.get("/v1/tickets/T1/sla", params={"at": "2016-03-02T09:00:00Z"})

    assert stored.json()["stored"] == 1
    assert refused.json()["rejected"] == 1
    assert scored.status_code == 503  # no model: ranked by the rules alone
    assert sla.status_code == 200
    records = json_logs()
    assert any(r["event"] == "service_started" for r in records)
    text = json.dumps(records)
    assert "QZX-SECRET" not in text and "kim@" not in text


def test_log_records_follow_stderr_after_the_old_one_is_closed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    try:
        first = io.StringIO()
        monkeypatch.setattr(sys, "stderr", first)
        configure_logging(fmt="json", level="INFO")
        logging.getLogger("stallwatch.test").info("first_record")
        first.close()  # as a CLI runner closes the stream it lent
        second = io.StringIO()
        monkeypatch.setattr(sys, "stderr", second)
        logging.getLogger("stallwatch.test").info("second_record")
    finally:
        root.handlers[:], level = saved
        root.setLevel(level)
        structlog.reset_defaults()

    (line,) = second.getvalue().splitlines()
    assert json.loads(line)["event"] == "second_record"
