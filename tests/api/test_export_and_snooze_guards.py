"""CSV exports cannot carry spreadsheet formulas; snoozes must end in the future."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from api.reports.service import to_csv
from features.store import create_schema, make_engine, write_events
from stallwatch.settings import Settings
from tests.conftest import EventMaker, frame
from tests.credentials import admin_headers

NOW = pd.Timestamp("2016-03-09T12:00Z")


@pytest.fixture
def client(tmp_path: Path, event: EventMaker) -> Iterator[TestClient]:
    """A service without a model whose ticket names hostile groups and a category."""
    from api.app import create_app

    url = f"sqlite:///{tmp_path / 'store.db'}"
    engine = make_engine(url)
    create_schema(engine)
    hostile = {"group": "=1+2", "category": "@SUM(A1)"}
    write_events(
        engine,
        frame(
            [
                event("A-1", "2016-03-08T08:00Z", "created", **hostile),
                event("A-1", "2016-03-08T09:00Z", "reassigned", group="-2+3"),
            ]
        ),
    )
    settings = Settings(
        database_url=url, model_dir=tmp_path / "models", now=NOW.to_pydatetime()
    )
    with TestClient(
        create_app(settings), headers=admin_headers(settings)
    ) as test_client:
        yield test_client


def test_to_csv_quotes_every_formula_start_and_keeps_numbers() -> None:
    text = to_csv(
        ["name", "n"],
        [["=1+2", -3], ["+A1", 2.5], ["-x", None], ["@f", 0], ["\tq", 1], ["\rr", 1]],
    )

    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert rows == [
        ["name", "n"],
        ["'=1+2", "-3"],
        ["'+A1", "2.5"],
        ["'-x", ""],
        ["'@f", "0"],
        ["'\tq", "1"],
        ["'\rr", "1"],
    ]


@pytest.mark.parametrize(
    ("report", "column", "expected"),
    [
        ("weekly-categories", "category", {"'@SUM(A1)"}),
        ("handoffs", "from_group", {"'=1+2"}),
        ("handoffs", "to_group", {"'-2+3"}),
    ],
)
def test_report_csv_cells_never_start_a_formula(
    client: TestClient, report: str, column: str, expected: set[str]
) -> None:
    got = client.get(f"/v1/reports/{report}", params={"format": "csv"})

    assert got.status_code == 200
    rows = list(csv.DictReader(io.StringIO(got.text)))
    assert {r[column] for r in rows} == expected
    cells = [c for r in rows for c in r.values()]
    assert not [c for c in cells if c[:1] in ("=", "+", "@", "\t", "\r")]


@pytest.mark.parametrize("until", ["2000-01-01T00:00Z", NOW.isoformat()])
def test_snooze_until_not_after_now_is_422_naming_until(
    client: TestClient, until: str
) -> None:
    got = client.post(
        "/v1/tickets/A-1/feedback",
        json={"action": "snooze", "until": until, "by": "m"},
    )

    assert got.status_code == 422
    assert got.json()["details"][0]["loc"] == ["body", "until"]
    assert "2016-03-09T12:00:00+00:00" in got.json()["details"][0]["message"]


def test_snooze_until_after_now_is_stored(client: TestClient) -> None:
    got = client.post(
        "/v1/tickets/A-1/feedback",
        json={"action": "snooze", "until": "2016-03-09T12:00:01Z", "by": "m"},
    )

    assert got.status_code == 201
    assert got.json()["until"] == "2016-03-09T12:00:01Z"
