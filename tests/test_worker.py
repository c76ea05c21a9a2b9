"""The ``stallwatch worker`` command refuses a bad set-up with a clear message."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from stallwatch.cli import app
from stallwatch.settings import get_settings


def _run(
    tmp_path: Path, rules: str, monkeypatch: pytest.MonkeyPatch
) -> tuple[int, str]:
    path = tmp_path / "rules.yaml"
    path.write_text(rules)
    monkeypatch.setenv("STALLWATCH_DATABASE_URL", f"sqlite:///{tmp_path / 's.db'}")
    monkeypatch.setenv("STALLWATCH_ALERT_RULES", str(path))
    monkeypatch.delenv("STALLWATCH_WEBHOOK_SECRET", raising=False)
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["worker", "--once"])
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
