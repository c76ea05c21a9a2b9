"""The ``stallwatch worker`` command refuses a bad set-up with a clear message."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from stallwatch.cli import app
from stallwatch.settings import get_settings
from stallwatch.worker import tick_moment


def _run(
    tmp_path: Path,
    rules: str,
    monkeypatch: pytest.MonkeyPatch,
    command: tuple[str, ...] = ("worker", "--once"),
) -> tuple[int, str]:
    path = tmp_path / "rules.yaml"
    path.write_text(rules)
    monkeypatch.setenv("STALLWATCH_DATABASE_URL", f"sqlite:///{tmp_path / 's.db'}")
    monkeypatch.setenv("STALLWATCH_ALERT_RULES", str(path))
    monkeypatch.delenv("STALLWATCH_WEBHOOK_SECRET", raising=False)
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, list(command))
    finally:
        get_settings.cache_clear()
    return result.exit_code, result.output


def test_worker_bad_rule_file_exits_2_naming_rule_and_field(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, output = _run(
        tmp_path,
        "version: 1\nrules:\n  - {name: r1, when: {clock: nowhere}, then: {}}\n",
        monkeypatch,
    )

    assert code == 2
    assert "rules.yaml" in output
    assert "rules[0] (r1).when.clock" in output


def test_worker_webhooks_without_secret_exits_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rules = (
        "version: 1\nrecipients:\n  m: {webhook: 'http://127.0.0.1:1/h'}\n"
        "rules:\n  - {name: r1, when: {clock: any, breached: true}, "
        "then: {notify: [m]}}\n"
    )

    code, output = _run(tmp_path, rules, monkeypatch)

    assert code == 2
    assert "set STALLWATCH_WEBHOOK_SECRET" in output


PIGEON = (
    "version: 1\nrules:\n  - name: r3\n    when: {clock: any, breached: true}\n"
    "    then: {mark: red, channels: [pigeon]}\n"
)


def test_worker_unknown_channel_exits_2_naming_the_choices(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, output = _run(tmp_path, PIGEON, monkeypatch)

    assert code == 2
    assert "rules.yaml" in output
    assert "rules[0] (r3).then.channels[0]: Input should be 'email'" in output
    assert "got 'pigeon'" in output


def test_serve_bad_rule_file_exits_2_before_starting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, output = _run(tmp_path, PIGEON, monkeypatch, ("serve", "--port", "1"))

    assert code == 2
    assert "rules[0] (r3).then.channels[0]" in output
    assert "Traceback" not in output


def test_worker_once_empty_store_reports_nothing_pending(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STALLWATCH_NOW", "2016-05-24T09:00:00+00:00")
    rules = "version: 1\nrules:\n  - {name: r1, when: {clock: any}, then: {}}\n"

    code, output = _run(tmp_path, rules, monkeypatch)

    assert code == 0, output
    assert output.strip().endswith(
        "tick at 2016-05-24T09:00:00+00:00: evaluated 0, decided 0; "
        "sent 0, to retry 0, dead-lettered 0; pending in the outbox 0"
    )


def test_tick_moment_replay_first_tick_is_the_replay_moment_exactly() -> None:
    replay = datetime(2016, 5, 24, 9, tzinfo=UTC)
    wall = datetime(2026, 12, 4, 20, 0, 0, 123456, tzinfo=UTC)

    assert tick_moment(replay, None, wall) == replay
    later = wall + timedelta(seconds=300)
    assert tick_moment(replay, wall, later) == replay + timedelta(seconds=300)
    assert tick_moment(None, None, wall) == wall
