"""``evaluate-ttb`` and ``evaluate-remaining`` refuse what they cannot use."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner


def test_evaluate_remaining_missing_file_exits_2(tmp_path: Path) -> None:
    from stallwatch.cli import app

    missing = tmp_path / "nowhere.csv"
    result = CliRunner().invoke(app, ["evaluate-remaining", str(missing)])

    assert result.exit_code == 2
    assert f"{missing}: no such file" in result.output


def test_evaluate_remaining_wrong_columns_exits_2(tmp_path: Path) -> None:
    from stallwatch.cli import app

    path = tmp_path / "log.csv"
    path.write_text("case,activity,time\n1,1,2012-01-01 00:00:00\n")
    result = CliRunner().invoke(app, ["evaluate-remaining", str(path)])

    assert result.exit_code == 2
    assert "missing columns ['CaseID', 'ActivityID', 'CompleteTimestamp']" in (
        result.output
    )


def test_evaluate_ttb_empty_store_exits_2(tmp_path: Path) -> None:
    from stallwatch.cli import app

    url = f"sqlite:///{tmp_path / 'store.db'}"
    result = CliRunner().invoke(app, ["evaluate-ttb", "--database-url", url])

    assert result.exit_code == 2
    assert "the store holds no events" in result.output


def test_evaluate_ttb_unknown_label_is_refused(tmp_path: Path) -> None:
    from stallwatch.cli import app

    result = CliRunner().invoke(app, ["evaluate-ttb", "--label", "maybe"])

    assert result.exit_code == 2
    assert "expected source or policy" in result.output
