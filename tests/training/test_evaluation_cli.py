"""`stallwatch evaluate` on a real slice: a report, its figures, an MLflow run."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from stallwatch.cli import app
from stallwatch.settings import get_settings


@pytest.fixture(scope="module")
def evaluated(
    tmp_path_factory: pytest.TempPathFactory, uci_head: Path
) -> tuple[Path, Path, str]:
    root = tmp_path_factory.mktemp("evaluate")
    env = {
        "STALLWATCH_DATABASE_URL": f"sqlite:///{root / 'store.db'}",
        "STALLWATCH_MLFLOW_TRACKING_URI": f"sqlite:///{root / 'mlflow.db'}",
        "MLFLOW_TRACKING_URI": "",
    }
    runner = CliRunner()
    get_settings.cache_clear()
    with pytest.MonkeyPatch.context() as patch:
        for key, value in env.items():
            patch.setenv(key, value)
        imported = runner.invoke(app, ["import", "uci", str(uci_head)])
        result = runner.invoke(
            app,
            [
                "evaluate",
                *("--k", "20", "--gap-days", "1", "--cutoffs", "2"),
                *("--label", "policy", "--out", str(root / "report")),
            ],
        )
    get_settings.cache_clear()
    assert imported.exit_code == 0, imported.output
    assert result.exit_code == 0, result.output
    return root, root / "report", result.output


def test_evaluate_writes_report_with_every_figure(
    evaluated: tuple[Path, Path, str],
) -> None:
    _, report_dir, _ = evaluated

    text = (report_dir / "report.md").read_text()

    for name in ("reliability", "precision_at_k", "pr_curve", "stages"):
        png = report_dir / f"{name}.png"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert f"]({name}.png)" in text
    assert "k = 20: the tickets a manager reviews per day" in text
    assert "## Calibration on the test windows" in text
    assert len(pd.read_csv(report_dir / "per_cutoff.csv")) == 2


def test_evaluate_mlflow_run_holds_the_reports_numbers(
    evaluated: tuple[Path, Path, str],
) -> None:
    import mlflow

    root, report_dir, output = evaluated
    run_id = re.search(r"MLflow run (\w+)", output)
    assert run_id is not None
    client = mlflow.MlflowClient(tracking_uri=f"sqlite:///{root / 'mlflow.db'}")

    run = client.get_run(run_id.group(1))

    # The headline row of the report, "mean ± sd" over both cut-offs per
    # scorer, equals the run's summary metrics.
    text = (report_dir / "report.md").read_text()
    row = next(x for x in text.splitlines() if x.startswith("| PR-AUC, first moment"))
    cells = [c.strip() for c in row.strip("|").split("|")[1:]]
    for scorer, cell in zip(
        ("lightgbm", "lightgbm_no_load", "logistic", "rule"), cells, strict=True
    ):
        mean, std = (float(v) for v in cell.split(" ± "))
        assert run.data.metrics[f"{scorer}.first_pr_auc.mean"] == pytest.approx(
            mean, abs=5e-4
        )
        assert run.data.metrics[f"{scorer}.first_pr_auc.std"] == pytest.approx(
            std, abs=5e-4
        )
    assert run.data.params["k"] == "20"
    assert run.data.params["split0.cutoff"][:10] in text
    assert "--k 20 --gap-days 1 --cutoffs 2 --label policy" in text
    artifacts = {a.path for a in client.list_artifacts(run.info.run_id, "report")}
    assert "report/report.md" in artifacts and "report/reliability.png" in artifacts


def test_evaluate_refuses_an_unknown_label() -> None:
    result = CliRunner().invoke(app, ["evaluate", "--label", "made_up"])

    assert result.exit_code == 2
    assert "expected source or policy" in result.output
