"""The command-line program: every import source is wired, score prints a list."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest
from typer.testing import CliRunner

from stallwatch.settings import Settings
from tests.conftest import REPO

SHARED = REPO.parent / "shared" / "data"
SLICES = {
    "helpdesk": SHARED / "helpdesk" / "helpdesk_full_4tu_2017.csv",
    "bpi2013": SHARED / "bpi2013" / "bpic2013_incidents.csv.gz",
    "boston311": SHARED / "boston311" / "boston311_sample_2015_2024.csv.gz",
}


def _head(source: Path, target: Path, lines: int) -> Path:
    opener = gzip.open if source.suffix == ".gz" else open
    with opener(source, "rt", encoding="utf-8-sig", newline="") as handle:
        text = "".join(line for _, line in zip(range(lines), handle, strict=False))
    target.write_text(text, encoding="utf-8")
    return target


@pytest.mark.parametrize("source", sorted(SLICES))
def test_import_command_runs_every_builtin_source(source: str, tmp_path: Path) -> None:
    from stallwatch.cli import app

    sample = _head(SLICES[source], tmp_path / f"{source}.csv", 301)
    url = f"sqlite:///{tmp_path / 'store.db'}"
    runner = CliRunner()

    first = runner.invoke(app, ["import", source, str(sample), "--database-url", url])
    again = runner.invoke(app, ["import", source, str(sample), "--database-url", url])

    assert first.exit_code == 0, first.output
    assert "300 rows" in first.output
    assert "(0 new)" in again.output


def test_import_command_refuses_unknown_source_and_missing_mapping(
    tmp_path: Path,
) -> None:
    from stallwatch.cli import app

    runner = CliRunner()
    unknown = runner.invoke(app, ["import", "zendesk", str(tmp_path)])
    no_mapping = runner.invoke(app, ["import", "mapped", str(tmp_path)])

    assert unknown.exit_code == 2 and "expected one of" in unknown.output
    assert no_mapping.exit_code == 2 and "--mapping" in no_mapping.output


def test_score_command_prints_the_ranked_list(
    trained: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    from stallwatch.cli import app
    from stallwatch.settings import get_settings

    monkeypatch.setenv("STALLWATCH_DATABASE_URL", trained.database_url)
    monkeypatch.setenv("STALLWATCH_MODEL_DIR", str(trained.model_dir))
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(
            app, ["score", "--at", "2016-03-16T09:00:00+00:00", "--limit", "3"]
        )
    finally:
        get_settings.cache_clear()

    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    header = next(i for i, line in enumerate(lines) if "open tickets at" in line)
    assert "open tickets at 2016-03-16T09:00:00+00:00" in lines[header]
    ranks = [line.split()[0] for line in lines[header + 1 : header + 4]]
    assert ranks == ["1", "2", "3"]


def test_train_before_the_first_event_names_the_moment(tmp_path: Path) -> None:
    from stallwatch.cli import app

    sample = _head(SLICES["helpdesk"], tmp_path / "helpdesk.csv", 301)
    url = f"sqlite:///{tmp_path / 'store.db'}"
    runner = CliRunner()
    imported = runner.invoke(
        app, ["import", "helpdesk", str(sample), "--database-url", url]
    )
    early = runner.invoke(
        app,
        ["train", "--known-at", "1990-01-01T00:00:00+00:00", "--database-url", url],
    )

    assert imported.exit_code == 0, imported.output
    assert early.exit_code == 2
    assert "no events known by 1990-01-01T00:00:00+00:00" in early.output
