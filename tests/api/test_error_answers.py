"""Answers to bad requests: one error shape, the right place, nothing echoed raw.

Every test runs the real app on its own SQLite store, without a model.
"""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from features.store import events_table, make_engine, rejected_table
from stallwatch.settings import Settings
from tests.credentials import key_headers

JSON = {"content-type": "application/json"}
PAGES = Path(__file__).resolve().parents[2] / "api" / "pages"


def _counts(url: str) -> tuple[int, int]:
    engine = make_engine(url)
    with engine.connect() as conn:
        counts = tuple(
            int(conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one())
            for t in (events_table, rejected_table)
        )
    engine.dispose()
    return counts[0], counts[1]


def _event(n: int, at: str, kind: str = "internal_note", **fields: Any) -> dict:
    return {
        "event_id": f"e-{n}",
        "ticket_id": "T1",
        "occurred_at": at,
        "kind": kind,
        **fields,
    }


# ------------------------------------------------------- echoed text (1, 6)


def test_event_id_with_a_lone_surrogate_is_rejected_alone_not_a_500(
    client: TestClient, settings: Settings
) -> None:
    # Python's JSON reader keeps "\ud800" as a lone surrogate, which UTF-8
    # cannot encode: echoing it unescaped made the answer fail.
    body = (
        b'{"events": [{"event_id": "sur\\ud800", "ticket_id": "T1", '
        b'"occurred_at": "2016-03-01T09:00:00Z", "kind": "created"}]}'
    )

    answer = client.post("/v1/events", content=body, headers=JSON)

    assert answer.status_code == 200, answer.text
    assert answer.json()["rejected"] == 1
    assert answer.json()["results"] == [
        {
            "index": 0,
            "event_id": "sur\\ud800",
            "status": "rejected",
            "problems": [
                {
                    "loc": ["body", "events", 0, "event_id"],
                    "message": "Input should be a valid string, unable to parse "
                    "raw data as a unicode string",
                }
            ],
        }
    ]
    assert _counts(settings.database_url) == (0, 1)


def test_an_unknown_field_named_at_length_is_echoed_clipped(
    client: TestClient,
) -> None:
    event = _event(1, "2016-03-01T09:00:00Z", kind="created") | {"k" * 5_000: 1}

    answer = client.post("/v1/events", json={"events": [event]})

    assert answer.status_code == 200, answer.text
    assert answer.json()["results"][0]["problems"] == [
        {
            "loc": ["body", "events", 0, "k" * 100 + "…"],
            "message": "Extra inputs are not permitted",
        }
    ]


def test_a_huge_score_moment_is_quoted_clipped_to_100_characters(
    client: TestClient,
) -> None:
    answer = client.post(
        "/v1/risk-scores", json={"at": "x" * 5_000, "tickets": [{"ticket_id": "T1"}]}
    )

    assert answer.status_code == 422
    # repr gives 'xxx…x' (5,002 characters): its first 100 are ' and 99 x.
    message = (
        "Value error, expected an ISO 8601 instant with an offset, such as "
        "2016-03-16T09:00:00+00:00; got '" + "x" * 99 + "…"
    )
    assert answer.json()["details"] == [
        {"loc": ["body", "at"], "message": message, "type": "value_error"}
    ]
    assert answer.json()["message"] == f"invalid request: body.at: {message}"


def test_a_lone_surrogate_in_a_sent_instant_is_echoed_escaped(
    client: TestClient,
) -> None:
    body = b'{"tickets": [{"ticket_id": "T1", "events": [{"occurred_at": "x\\udc00", "kind": "created"}]}]}'  # noqa: E501

    answer = client.post("/v1/risk-scores", content=body, headers=JSON)

    assert answer.status_code == 422
    detail = answer.json()["details"][0]
    assert detail["loc"] == ["body", "tickets", 0, "events", 0, "occurred_at"]
    assert detail["message"].endswith("got 'x\\udc00'")


# -------------------------------------------- sent events in order (2)


def test_sent_event_before_the_created_event_is_refused_by_risk_scores(
    client: TestClient,
) -> None:
    events = [
        {"occurred_at": "2016-03-01T09:00:00+00:00", "kind": "created"},
        {"occurred_at": "2016-03-01T10:00:00+01:00", "kind": "agent_reply"},
        {"occurred_at": "2016-03-01T08:59:00+00:00", "kind": "internal_note"},
    ]
    tickets = [
        {"ticket_id": "T0", "events": events[:2]},
        {"ticket_id": "T1", "events": events},
    ]

    answer = client.post("/v1/risk-scores", json={"tickets": tickets})

    # 10:00+01:00 is the created instant itself, so only 08:59 is out of order.
    assert answer.status_code == 422, answer.text
    assert answer.json() == {
        "code": "unprocessable",
        "message": "1 sent event(s) come before their ticket's created event; "
        "expected every event at or after it",
        "details": [
            {
                "loc": ["body", "tickets", 1, "events", 2, "occurred_at"],
                "message": "before the created event of ticket 'T1' at "
                "2016-03-01T09:00:00+00:00; expected an instant at or after it",
                "type": "before_created",
            }
        ],
    }


def test_sent_events_in_order_pass_the_check_and_reach_the_model(
    client: TestClient,
) -> None:
    events = [
        {"occurred_at": "2016-03-01T09:00:00+00:00", "kind": "created"},
        {"occurred_at": "2016-03-01T10:00:00+01:00", "kind": "agent_reply"},
    ]

    answer = client.post(
        "/v1/risk-scores", json={"tickets": [{"ticket_id": "T1", "events": events}]}
    )

    # No model is served: the next step after the checks answers 503.
    assert answer.status_code == 503
    assert answer.json()["code"] == "unavailable"


# ------------------------------------------------------------ strict seq (3)


@pytest.mark.parametrize("seq", [True, "7", 7.0], ids=["bool", "text", "float"])
def test_event_seq_is_an_integer_only(client: TestClient, seq: object) -> None:
    events = [
        _event(1, "2016-03-01T09:00:00Z", kind="created", seq=7),
        _event(2, "2016-03-01T09:00:00Z", seq=seq),
    ]

    answer = client.post("/v1/events", json={"events": events}).json()

    assert [r["status"] for r in answer["results"]] == ["stored", "rejected"]
    assert answer["results"][1]["problems"] == [
        {
            "loc": ["body", "events", 1, "seq"],
            "message": "Input should be a valid integer",
        }
    ]


# ---------------------------------------------------- unreadable bodies (4)


@pytest.mark.parametrize(
    ("body", "message", "kind"),
    [
        (
            b'{"events": "\xff"}',
            "cannot decode byte 12 (0xff) of the body as utf-8; expected UTF-8 JSON",
            "json_encoding",
        ),
        (
            b'{"events":\n  [1,]}',
            "invalid JSON at line 2, column 6 (character 16): Expecting value; "
            "expected one JSON object",
            "json_invalid",
        ),
        (
            b"[" * 5_000 + b"]" * 5_000,
            "the JSON is nested too deeply to read; expected one JSON object "
            "nested a few levels",
            "json_too_deep",
        ),
    ],
    ids=["bad-utf8", "invalid-json", "deep-nesting"],
)
def test_unreadable_body_answers_400_saying_what_and_where(
    client: TestClient, settings: Settings, body: bytes, message: str, kind: str
) -> None:
    answer = client.post("/v1/events", content=body, headers=JSON)

    assert answer.status_code == 400
    assert answer.json() == {
        "code": "invalid_body",
        "message": message,
        "details": [{"loc": ["body"], "message": message, "type": kind}],
    }
    assert _counts(settings.database_url) == (0, 0)


@pytest.mark.parametrize(
    ("headers", "got"),
    [({"content-type": "text/plain"}, "'text/plain'"), ({}, "no content-type")],
    ids=["text-plain", "none"],
)
def test_body_without_the_json_content_type_says_so(
    client: TestClient, headers: dict[str, str], got: str
) -> None:
    body = json.dumps({"events": [_event(1, "2016-03-01T09:00:00Z")]}).encode()

    answer = client.post("/v1/events", content=body, headers=headers)

    assert answer.status_code == 422
    assert answer.json()["details"] == [
        {
            "loc": ["body"],
            "message": f"expected content-type application/json; got {got}",
            "type": "content_type",
        }
    ]


# -------------------------------------------- snooze rule, reports (5)


@pytest.mark.parametrize(
    ("sent", "message"),
    [
        ({"action": "snooze"}, "Value error, expected an aware instant for a snooze"),
        (
            {"action": "acknowledge", "until": "2016-03-10T00:00:00Z"},
            "Value error, expected no value for acknowledge",
        ),
    ],
    ids=["snooze-without-until", "until-without-snooze"],
)
def test_until_rule_names_the_until_field(
    client: TestClient, sent: dict[str, str], message: str
) -> None:
    answer = client.post("/v1/tickets/T1/feedback", json=sent)

    assert answer.status_code == 422
    assert answer.json()["details"] == [
        {"loc": ["body", "until"], "message": message, "type": "value_error"}
    ]


def test_unknown_report_answers_404_listing_the_reports(
    client: TestClient, settings: Settings
) -> None:
    from api.app import create_app

    answer = client.get("/v1/reports/nope")
    with TestClient(create_app(settings)) as anonymous:
        refused = anonymous.get("/v1/reports/nope")

    names = (
        "backlog, open-age, first-contact-resolution, sla-compliance, "
        "weekly-categories, handoffs, model-record"
    )
    assert answer.status_code == 404
    assert answer.json() == {
        "code": "not_found",
        "message": f"no report named 'nope'; expected one of {names}",
        "details": [
            {
                "loc": ["path", "name"],
                "message": f"expected one of {names}",
                "type": "unknown_report",
            }
        ],
    }
    assert client.get("/v1/reports/backlog").status_code == 200
    # The names are shown to a caller who may read the reports, no one else.
    assert refused.status_code == 401


# ---------------------------------------------- no host paths in public (7)


def _no_path(text: str, root: Path) -> None:
    assert str(root) not in text
    assert not re.search(r"(?<![\w.])/(?:tmp|home|var|work|srv)/", text), text


def test_readyz_and_503_say_the_reason_but_no_path_of_the_model_store(
    client: TestClient, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="stallwatch.api"):
        ready = client.get("/readyz")
        scores = client.post("/v1/risk-scores", json={"tickets": [{"ticket_id": "T"}]})

    assert ready.json() == {
        "status": "degraded",
        "reason": "model_missing",
        "ranked_by": "sla_rules",
        "model_version": None,
        "wanted_version": None,
        "message": "no model is promoted in the model store: run `stallwatch "
        "train`, then `stallwatch promote`",
    }
    assert scores.status_code == 503
    assert scores.json()["details"][0]["type"] == "model_missing"
    for text in (ready.text, scores.text):
        _no_path(text, settings.model_dir.parent)
    logged = [r for r in caplog.records if r.getMessage() == "model_unavailable"]
    assert [getattr(r, "reason", None) for r in logged] == ["model_missing"]


@pytest.mark.parametrize(
    ("pointer", "reason", "wanted", "message"),
    [
        ("v1", "model_missing", "v1", "model 'v1' is not in the model store"),
        (
            "ABSOLUTE",
            "model_outside_store",
            None,
            "the model store's CURRENT pointer names a place outside the store; "
            "expected the name of a version folder",
        ),
    ],
    ids=["missing-version", "absolute-pointer"],
)
def test_readyz_names_versions_but_not_places(
    settings: Settings,
    caplog: pytest.LogCaptureFixture,
    pointer: str,
    reason: str,
    wanted: str | None,
    message: str,
) -> None:
    from api.app import create_app

    settings.model_dir.mkdir()
    elsewhere = settings.model_dir.parent / "elsewhere"
    (settings.model_dir / "CURRENT").write_text(
        str(elsewhere) if pointer == "ABSOLUTE" else pointer
    )
    key = key_headers(settings, ("admin",))

    with (
        TestClient(create_app(settings)) as anonymous,
        caplog.at_level(logging.WARNING, logger="stallwatch.api"),
    ):
        ready = anonymous.get("/readyz")
        scores = anonymous.post(
            "/v1/risk-scores", json={"tickets": [{"ticket_id": "T"}]}, headers=key
        )

    assert ready.status_code == 200
    assert ready.json() | {"message": None} == {
        "status": "degraded",
        "reason": reason,
        "ranked_by": "sla_rules",
        "model_version": None,
        "wanted_version": wanted,
        "message": None,
    }
    assert ready.json()["message"] == message
    assert scores.status_code == 503
    assert scores.json()["details"][0]["type"] == reason
    for text in (ready.text, scores.text):
        _no_path(text, settings.model_dir.parent)
    # The operator still finds the store's own words, place included, in the log.
    logged = [r for r in caplog.records if r.getMessage() == "model_unavailable"]
    assert [getattr(r, "reason", None) for r in logged] == [reason]
    if pointer == "ABSOLUTE":
        assert str(elsewhere) in getattr(logged[0], "error", "")


# -------------------------------------------------- security headers (8)

HEADERS = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "same-origin",
}


@pytest.mark.parametrize(
    "path", ["/", "/reports", "/login", "/static/app.css", "/healthz", "/nope"]
)
def test_every_answer_carries_the_security_headers(
    client: TestClient, path: str
) -> None:
    answer = client.get(path)

    assert {k: answer.headers.get(k) for k in HEADERS} == HEADERS
    policy = answer.headers["content-security-policy"]
    assert "script-src 'self';" in policy
    assert "style-src 'self';" in policy
    assert "frame-ancestors 'none'" in policy
    assert "unsafe-inline" not in policy


def test_docs_page_alone_may_run_its_inline_start_script(client: TestClient) -> None:
    page = client.get("/docs")

    assert page.headers["x-frame-options"] == "DENY"
    policy = page.headers["content-security-policy"]
    assert "script-src 'self' 'unsafe-inline'" in policy


def test_pages_hold_no_inline_script_style_or_handler_the_policy_would_block(
    client: TestClient,
) -> None:
    # The templates as served, and the script that fills the list.
    served = [client.get(p).text for p in ("/", "/reports", "/login")]
    sources = [
        *served,
        *(p.read_text() for p in (PAGES / "templates").glob("*.html")),
        (PAGES / "static" / "list.js").read_text(),
    ]

    for text in sources:
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", text)
        assert not re.search(r"<style\b|\sstyle\s*=|\son[a-z]+\s*=", text)
        assert not re.search(r"(?:src|href)=\"(?:https?:)?//", text)


# -------------------------------------------------- who gave feedback (9)


def test_feedback_is_recorded_as_the_key_that_sent_it(client: TestClient) -> None:
    created = _event(1, "2016-03-09T08:00:00Z", kind="created")
    assert client.post("/v1/events", json={"events": [created]}).json()["stored"] == 1

    done = client.post(
        "/v1/tickets/T1/feedback",
        json={"action": "acknowledge", "by": "the CEO", "note": "on it"},
    )
    plain = client.post("/v1/tickets/T1/feedback", json={"action": "not_a_stall"})
    audit = client.get("/v1/tickets/T1/audit").json()["entries"]

    assert done.status_code == 201, done.text
    assert (done.json()["by"], done.json()["note"]) == (
        "key:desk-crm",
        "on it (sent as by 'the CEO')",
    )
    assert (plain.json()["by"], plain.json()["note"]) == ("key:desk-crm", None)
    feedback = [(e["who"], e["why"]) for e in audit if e["kind"] == "feedback"]
    assert feedback == [
        ("key:desk-crm", "acknowledge: on it (sent as by 'the CEO')"),
        ("key:desk-crm", "not_a_stall"),
    ]
