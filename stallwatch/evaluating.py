"""Body of ``stallwatch evaluate``: rolling-origin evaluation of the stored log."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from features.sla.desk import SlaDesk
    from training.evaluation import EvaluationResult

REPORT_FILE = "report.md"


class EmptyStoreError(ValueError):
    """The store holds no events to evaluate on."""


def _data_hash(database_url: str) -> str:
    import sqlalchemy as sa

    from features.store import make_engine

    with make_engine(database_url).connect() as conn:
        hashes = conn.execute(sa.text("SELECT file_sha256 FROM imports")).scalars()
        return ",".join(sorted(set(hashes))) or "live-events"


def write_report(
    result: EvaluationResult, out: Path, *, title: str, command: str
) -> Path:
    """Write ``report.md``, its figures, ``per_cutoff.csv`` and ``summary.json``."""
    from training.evaluation import per_cutoff_frame, summary_metrics
    from training.evaluation.report import render_report
    from training.plots import write_plots

    out.mkdir(parents=True, exist_ok=True)
    plots = write_plots(result, out, k=int(result.params["k"]))
    text = render_report(
        result,
        title=title,
        command=command,
        plots={name: path.name for name, path in plots.items()},
    )
    report = out / REPORT_FILE
    report.write_text(text)
    per_cutoff_frame(result).to_csv(out / "per_cutoff.csv", index=False)
    (out / "summary.json").write_text(
        json.dumps(summary_metrics(result), indent=1, sort_keys=True) + "\n"
    )
    return report


def run_evaluate(
    *,
    database_url: str,
    desk: SlaDesk | None,
    label: Literal["source", "policy"],
    k: int,
    gap_days: float,
    cutoffs: int,
    out: Path,
    tracking_uri: str,
    command: str,
) -> tuple[Path, str]:
    """Evaluate the stored log, write the report and log it to MLflow.

    Returns the report's path and the MLflow run id. Raises
    :class:`EmptyStoreError` when the store holds no events.
    """
    import pandas as pd

    from features.store import create_schema, make_engine, read_events
    from training.evaluation import run_evaluation
    from training.evaluation.tracking import log_evaluation

    engine = make_engine(database_url)
    create_schema(engine)
    events = read_events(engine)
    if events.empty:
        raise EmptyStoreError(
            "the store holds no events: run `stallwatch import` first"
        )
    result = run_evaluation(
        events,
        data_sha256=_data_hash(database_url),
        k=k,
        n_cutoffs=cutoffs,
        gap=pd.Timedelta(days=gap_days),
        desk=desk,
        label=label,
    )
    desk_name = desk.name if desk is not None else "no SLA desk"
    report = write_report(
        result, out, title=f"{desk_name}, label {label}", command=command
    )
    run_id = log_evaluation(
        result,
        report_dir=out,
        tracking_uri=tracking_uri,
        run_name=f"evaluate-{desk_name}-{label}",
    )
    return report, run_id


def evaluate_command(
    *, k: int, gap_days: float, cutoffs: int, label: str, out: Path, url: str | None
) -> None:
    """Run ``stallwatch evaluate``: check options, evaluate, print the report."""
    import typer

    from features.sla.desk import load_desk_file
    from features.sla.validation import SlaConfigError
    from stallwatch.settings import get_settings

    if label not in ("source", "policy"):
        raise typer.BadParameter(f"--label {label!r}: expected source or policy")
    settings = get_settings()
    try:
        desk = load_desk_file(settings.sla_desk)
        report, run_id = run_evaluate(
            database_url=url or settings.database_url,
            desk=desk,
            label="policy" if label == "policy" else "source",
            k=k,
            gap_days=gap_days,
            cutoffs=cutoffs,
            out=out,
            tracking_uri=settings.mlflow_tracking_uri,
            command=f"stallwatch evaluate --k {k} --gap-days {gap_days:g} "
            f"--cutoffs {cutoffs} --label {label} --out {out}",
        )
    except (SlaConfigError, OSError) as exc:
        typer.echo(f"SLA desk configuration {settings.sla_desk}: {exc}", err=True)
        raise typer.Exit(code=2) from exc
    except EmptyStoreError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(code=2) from exc
    typer.echo(report.read_text())
    typer.echo(f"report written to {report}; MLflow run {run_id}")
