"""Fixtures of the API tests: a store holding a real slice (reports, pages),
and an empty store served with an admin key (error answers)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from features.store import create_schema, make_engine, write_events
from stallwatch.settings import Settings
from tests.api.reference import AS_OF, Ticket, replay
from tests.credentials import admin_headers, key_headers

#: The service's clock in the error-answer tests.
ANSWERS_NOW = datetime(2016, 3, 9, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="session")
def report_store(uci_head: Path, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A SQLite store with the real slice's events and no model."""
    from features.importers.uci import load_uci

    url = f"sqlite:///{tmp_path_factory.mktemp('reports') / 'store.db'}"
    engine = make_engine(url)
    create_schema(engine)
    write_events(engine, load_uci(uci_head).events)
    engine.dispose()
    return url


@pytest.fixture(scope="session")
def report_client(
    report_store: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TestClient]:
    """The service on that store, replaying :data:`AS_OF` as now."""
    from api.app import create_app

    settings = Settings(
        database_url=report_store,
        model_dir=tmp_path_factory.mktemp("no-model"),
        now=AS_OF,
    )
    with TestClient(
        create_app(settings), headers=admin_headers(settings)
    ) as test_client:
        yield test_client


@pytest.fixture(scope="session")
def report_reference(report_store: str) -> dict[str, Ticket]:
    """Every ticket of the store replayed by hand up to :data:`AS_OF`."""
    return replay(report_store)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """A store of its own, no model, and ANSWERS_NOW as the service's clock."""
    return Settings(
        database_url=f"sqlite:///{tmp_path / 'store.db'}",
        model_dir=tmp_path / "no-model",
        alert_rules=None,
        now=ANSWERS_NOW,
    )


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    """The service, called with an admin key named ``desk-crm``."""
    from api.app import create_app

    headers = key_headers(settings, ("admin",), name="desk-crm")
    with TestClient(create_app(settings), headers=headers) as test_client:
        yield test_client
