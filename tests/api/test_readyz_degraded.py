"""Degraded mode: no model, or a damaged one, and the service still ranks.

Each case starts the real app on a copy of a really trained model store and
damages it the way an operator might find it: the bundle file deleted,
flipped, truncated, or replaced together with its hash; CURRENT pointing
outside the store. The escalation list must then be the SLA rules' own order
(checked against the healthy service's floors and against a sort of the
returned clocks), risk scores a clear 503, and /readyz must say why.
"""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from features.store import create_schema, make_engine
from stallwatch.settings import Settings
from training.bundle import (
    BUNDLE_FILE,
    HASH_FILE,
    current_version,
    load_bundle,
    point_current,
    write_bundle,
)

BODY = {"tickets": [{"ticket_id": "INC0000047"}], "at": "2016-02-29T12:00:00Z"}
TIERS = {"sla_breached": 0, "sla_nearly_due": 1, None: 2}


def bearer(database_url: str) -> dict[str, str]:
    """One header with an admin key of the store at ``database_url``."""
    from features.access.keys import create_key

    engine = make_engine(database_url)
    create_schema(engine)
    _, token = create_key(engine, name="faults-test", scopes=["admin"])
    engine.dispose()
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="module")
def headers(trained: Settings) -> dict[str, str]:
    return bearer(trained.database_url)


def _client(settings: Settings) -> TestClient:
    from api.app import create_app

    return TestClient(create_app(settings))


def _whole_list(client: TestClient, headers: dict[str, str]) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    while True:
        page = client.get(
            "/v1/escalations",
            params={"limit": 500, "offset": len(items)},
            headers=headers,
        )
        assert page.status_code == 200, page.text
        body = page.json()
        items += body["items"]
        if len(items) >= body["total"]:
            return items


@pytest.fixture(scope="module")
def healthy(trained: Settings, headers: dict[str, str]) -> list[dict[str, Any]]:
    """The whole escalation list of the undamaged service."""
    with _client(trained) as client:
        ready = client.get("/readyz")
        assert ready.status_code == 200
        assert ready.json()["status"] == "ready"
        assert ready.json()["model_version"] == current_version(trained.model_dir)
        return _whole_list(client, headers)


def _stamp(value: str | None) -> int:
    return 2**62 if value is None else pd.Timestamp(value).value


def _rules_order(items: list[dict[str, Any]]) -> list[str]:
    """Sort by the documented rules alone: floor tier, its key, deadline, id."""

    def key(item: dict[str, Any]) -> tuple[int, int, int, str]:
        tier = TIERS[item["rule"]]
        due = _stamp(item["sla_next_due"])
        first = _stamp(item["sla_breached_since"]) if tier == 0 else due
        return tier, first if tier < 2 else 0, due, item["ticket_id"]

    return [i["ticket_id"] for i in sorted(items, key=key)]


def _delete(folder: Path) -> None:
    (folder / BUNDLE_FILE).unlink()


def _flip(folder: Path) -> None:
    data = bytearray((folder / BUNDLE_FILE).read_bytes())
    data[len(data) // 2] ^= 0xFF
    (folder / BUNDLE_FILE).write_bytes(bytes(data))


def _truncate(folder: Path) -> None:
    data = (folder / BUNDLE_FILE).read_bytes()
    (folder / BUNDLE_FILE).write_bytes(data[: len(data) // 3])


def _rehashed_garbage(folder: Path) -> None:
    # Tampered consistently: the hash matches, but the bytes are no bundle.
    garbage = b"\x80\x04not a pickle at all" * 100
    (folder / BUNDLE_FILE).write_bytes(garbage)
    (folder / HASH_FILE).write_text(hashlib.sha256(garbage).hexdigest() + "\n")


DAMAGE: dict[str, tuple[Callable[[Path], None], str]] = {
    "deleted": (_delete, "model_missing"),
    "byte_flipped": (_flip, "model_corrupt"),
    "truncated": (_truncate, "model_corrupt"),
    "rehashed_garbage": (_rehashed_garbage, "model_corrupt"),
}


@pytest.fixture
def store_copy(trained: Settings, tmp_path: Path) -> Iterator[Settings]:
    model_dir = tmp_path / "models"
    shutil.copytree(trained.model_dir, model_dir)
    yield trained.model_copy(update={"model_dir": model_dir})


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_damaged_bundle_serves_rules_only_and_readyz_says_why(
    damage: str,
    store_copy: Settings,
    healthy: list[dict[str, Any]],
    headers: dict[str, str],
) -> None:
    harm, reason = DAMAGE[damage]
    version = current_version(store_copy.model_dir)
    assert version is not None
    harm(store_copy.model_dir / version)

    with _client(store_copy) as client:
        ready = client.get("/readyz")
        items = _whole_list(client, headers)
        scores = client.post("/v1/risk-scores", json=BODY, headers=headers)
        page = client.get("/", headers=headers)

    assert ready.status_code == 200
    assert ready.json() | {"message": None} == {
        "status": "degraded",
        "reason": reason,
        "ranked_by": "sla_rules",
        "model_version": None,
        "wanted_version": version,
        "message": None,
    }
    assert version in ready.json()["message"]

    # Same tickets, no probabilities, in the rules' own order ...
    assert sorted(i["ticket_id"] for i in items) == sorted(
        i["ticket_id"] for i in healthy
    )
    assert {i["probability"] for i in items} == {None}
    assert [i["ticket_id"] for i in items] == _rules_order(items)
    # ... whose breached and nearly-due floors are the healthy list's own.
    floors = [i["ticket_id"] for i in healthy if i["rule"] is not None]
    assert floors and [i["ticket_id"] for i in items][: len(floors)] == floors

    assert scores.status_code == 503
    assert scores.json()["code"] == "unavailable"
    assert scores.json()["details"][0]["type"] == reason
    assert "SLA rules alone" in scores.json()["message"]
    assert page.status_code == 200
    assert "ranked by the SLA rules alone" in page.text


@pytest.mark.parametrize("pointer", ["../outside", "ABSOLUTE", "link"])
def test_current_outside_the_store_is_refused(
    pointer: str, store_copy: Settings, tmp_path: Path, headers: dict[str, str]
) -> None:
    model_dir = store_copy.model_dir
    version = current_version(model_dir)
    assert version is not None
    # A valid, hash-matching bundle, but outside the store.
    outside = tmp_path / "outside"
    shutil.copytree(model_dir / version, outside)
    if pointer == "ABSOLUTE":
        pointer = str(outside)
    elif pointer == "link":
        (model_dir / "link").symlink_to(outside, target_is_directory=True)
    (model_dir / "CURRENT").write_text(pointer + "\n")

    with _client(store_copy) as client:
        ready = client.get("/readyz").json()
        listed = client.get("/v1/escalations", headers=headers)

    assert ready["status"] == "degraded"
    assert ready["reason"] == "model_outside_store"
    assert ready["model_version"] is None
    assert listed.status_code == 200
    assert listed.json()["ranked_by"] == "sla_rules"


def test_degraded_service_picks_up_a_repaired_or_promoted_bundle(
    store_copy: Settings, tmp_path: Path, headers: dict[str, str]
) -> None:
    model_dir = store_copy.model_dir
    version = current_version(model_dir)
    assert version is not None
    good = (model_dir / version / BUNDLE_FILE).read_bytes()
    _truncate(model_dir / version)

    with _client(store_copy) as client:
        before = client.get("/readyz").json()
        refused = client.post("/v1/risk-scores", json=BODY, headers=headers)

        # The operator restores the file: the next request loads it.
        (model_dir / version / BUNDLE_FILE).write_bytes(good)
        restored = client.get("/readyz").json()
        scored = client.post("/v1/risk-scores", json=BODY, headers=headers)

        # Then a newly promoted bundle under another name is picked up too.
        later_bundle = load_bundle(model_dir, version)
        later_bundle.version = "promoted-later"
        write_bundle(later_bundle, model_dir, card_text="promoted later\n")
        point_current(model_dir, "promoted-later")
        later = client.get("/readyz").json()
        listed = client.get("/v1/escalations", headers=headers).json()

    assert (before["status"], before["reason"]) == ("degraded", "model_corrupt")
    assert refused.status_code == 503
    assert (restored["status"], restored["model_version"]) == ("ready", version)
    assert scored.status_code == 200
    assert scored.json()["model_version"] == version
    assert 0.0 <= scored.json()["scores"][0]["probability"] <= 1.0
    assert (later["status"], later["model_version"]) == ("ready", "promoted-later")
    assert listed["ranked_by"] == "sla_rules_and_model"
    assert listed["model_version"] == "promoted-later"


def test_readyz_answers_503_when_the_store_is_gone(
    store_copy: Settings, tmp_path: Path
) -> None:
    from sqlalchemy import create_engine

    with _client(store_copy) as client:
        # The store goes away under the running service.
        client.app.state.service.backlog.engine = create_engine(  # type: ignore[attr-defined]
            f"sqlite:///{tmp_path / 'missing' / 'nowhere.db'}"
        )
        ready = client.get("/readyz")
        alive = client.get("/healthz")

    assert ready.status_code == 503
    assert ready.json()["status"] == "unavailable"
    assert ready.json()["reason"] == "store_unreachable"
    assert alive.status_code == 200
