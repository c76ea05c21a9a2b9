"""The ``stallwatch`` command: import, train, score, serve, and the demo."""

from __future__ import annotations

import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

import typer
from pydantic import ValidationError

if TYPE_CHECKING:
    from features.sla.desk import SlaDesk

from stallwatch.access import keys_app, prepare_demo_access, users_app
from stallwatch.logs import configure_logging
from stallwatch.promoting import replay_warning, report_candidate, run_promote
from stallwatch.settings import REPO_ROOT, describe_settings_error, get_settings
from stallwatch.stores import StoreAwareGroup, command_store

app = typer.Typer(
    cls=StoreAwareGroup, add_completion=False, no_args_is_help=True, help=__doc__
)
app.add_typer(keys_app, name="keys")
app.add_typer(users_app, name="users")

BUNDLED_UCI = REPO_ROOT / "data" / "uci_incidents" / "incident_event_log.csv.gz"
#: A Monday morning inside the bundled log's last test window.
DEMO_MOMENT = "2016-05-23T09:00:00+00:00"

Database = Annotated[
    str | None, typer.Option(help="SQLAlchemy URL; default STALLWATCH_DATABASE_URL.")
]


def _moment(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise typer.BadParameter(f"{value!r} is not an ISO-8601 instant") from exc
    if parsed.tzinfo is None:
        raise typer.BadParameter(f"{value!r} needs a UTC offset, e.g. +00:00")
    if not 1970 <= parsed.year < 2200:
        raise typer.BadParameter(f"{value!r}: expected a year from 1970 to 2199")
    return parsed.astimezone(UTC)


def _desk() -> SlaDesk:
    """Load the configured desk, or stop with its validation errors."""
    from features.sla.desk import load_desk_file
    from features.sla.validation import SlaConfigError

    path = get_settings().sla_desk
    try:
        return load_desk_file(path)
    except (SlaConfigError, OSError) as exc:
        typer.echo(f"SLA desk configuration {path}: {exc}", err=True)
        raise typer.Exit(code=2) from exc


@app.callback()
def main() -> None:
    """Watch support tickets, keep SLA clocks and predict stalls."""
    try:
        settings = get_settings()
    except ValidationError as exc:  # one line per bad variable, no traceback
        for line in describe_settings_error(exc):
            typer.echo(line, err=True)
        raise typer.Exit(code=2) from exc
    configure_logging(fmt=settings.log_format, level=settings.log_level)


@app.command("import")
def import_log(
    source: Annotated[
        str, typer.Argument(help="uci, helpdesk, bpi2013, boston311 or mapped.")
    ] = "uci",
    path: Annotated[Path, typer.Argument(help="The file.")] = BUNDLED_UCI,
    mapping: Annotated[
        Path | None, typer.Option(help="Mapping file (YAML), for 'mapped'.")
    ] = None,
    source_timezone: Annotated[
        str | None, typer.Option(help="IANA zone of the file's wall-clock times.")
    ] = None,
    database_url: Database = None,
) -> None:
    """Validate a ticket log and add its events to the store, all or nothing."""
    from rich.progress import Progress

    from features.importers.mapping import MappingError
    from features.importers.problems import ImportValidationError
    from stallwatch.importing import SOURCES, import_builtin, import_mapped

    if source not in SOURCES:
        raise typer.BadParameter(
            f"unknown source {source!r}; expected one of: {', '.join(SOURCES)}"
        )
    if not path.exists():
        raise typer.BadParameter(f"{path} does not exist")
    if source == "mapped" and mapping is None:
        raise typer.BadParameter("'mapped' needs --mapping FILE")
    engine = command_store(database_url, get_settings().database_url)
    try:
        if mapping is not None:
            with Progress(transient=True, disable=not sys.stderr.isatty()) as bar:
                task = bar.add_task(f"checking {path.name}", total=None)
                summary = import_mapped(
                    engine,
                    path,
                    mapping,
                    progress=lambda rows: bar.advance(task, rows),
                )
        else:
            summary = import_builtin(
                engine, source, path, source_timezone=source_timezone
            )
    except (ImportValidationError, MappingError) as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(code=2) from exc
    typer.echo(summary.describe(path.name))


@app.command()
def train(
    k: Annotated[int, typer.Option(help="Tickets a manager reviews at once.")] = 50,
    gap_days: Annotated[float, typer.Option(help="Gap before each test window.")] = 7,
    known_at: Annotated[
        str | None,
        typer.Option(help="Learn only from events up to this instant (replay)."),
    ] = None,
    label: Annotated[
        str, typer.Option(help="Stall = 'source' breach or 'policy' breach.")
    ] = "source",
    sla_features: Annotated[
        bool, typer.Option(help="Add SLA clock features from the desk set-up.")
    ] = True,
    feedback_labels: Annotated[
        bool, typer.Option(help="Managers' 'not a stall' verdicts override labels.")
    ] = False,
    database_url: Database = None,
) -> None:
    """Evaluate on rolling time splits, fit the served model, log to MLflow."""
    import pandas as pd
    import sqlalchemy as sa

    from features.alerts.feedback import not_a_stall_tickets
    from features.store import read_events
    from training.pipeline import InsufficientHistoryError, run_training
    from training.tracking import log_run

    settings = get_settings()
    if label not in ("source", "policy"):
        raise typer.BadParameter(f"--label {label!r}: expected source or policy")
    if label == "policy" and not sla_features:
        raise typer.BadParameter("--label policy needs the SLA desk set-up")
    desk = _desk() if sla_features else None
    engine = command_store(database_url, settings.database_url)
    until = _moment(known_at)
    events = read_events(engine, until=until)
    if events.empty:
        known = f" known by {until.isoformat()}" if until is not None else ""
        typer.echo(
            f"the store holds no events{known}: run `stallwatch import` first"
            " or choose a later --known-at",
            err=True,
        )
        raise typer.Exit(code=2)
    with engine.connect() as conn:
        hashes = conn.execute(sa.text("SELECT file_sha256 FROM imports")).scalars()
        data_hash = ",".join(sorted(set(hashes))) or "live-events"
    try:
        result = run_training(
            events,
            model_dir=settings.model_dir,
            data_sha256=data_hash,
            k=k,
            gap=pd.Timedelta(days=gap_days),
            desk=desk,
            label="policy" if label == "policy" else "source",
            not_a_stall=sorted(not_a_stall_tickets(engine)) if feedback_labels else (),
        )
    except InsufficientHistoryError as exc:
        typer.echo(f"cannot train: {exc}", err=True)
        raise typer.Exit(code=2) from exc
    logged = log_run(result, default_tracking_uri=settings.mlflow_tracking_uri)
    typer.echo((result.bundle_dir / "evaluation.md").read_text())
    typer.echo(f"model {result.version} written to {result.bundle_dir}")
    typer.echo(
        f"MLflow run {logged.run_id}, registered as version {logged.model_version}"
    )
    report_candidate(settings, logged.model_version, metric="first")


@app.command()
def promote(
    version: Annotated[
        str | None, typer.Argument(help="Registry version; default the newest.")
    ] = None,
    force: Annotated[bool, typer.Option(help="Override a refusal.")] = False,
    reason: Annotated[
        str | None, typer.Option(help="Why (needed with --force).")
    ] = None,
    metric: Annotated[
        str, typer.Option(help="Gate on precision@k: first, daily, all.")
    ] = "first",
) -> None:
    """Serve a registered model if it beats the rule and the champion (or --force)."""
    if not run_promote(
        get_settings(), version, metric=metric, force=force, reason=reason
    ):
        raise typer.Exit(code=1)


@app.command()
def evaluate(
    k: Annotated[int, typer.Option(min=1, help="Tickets reviewed per day.")] = 50,
    gap_days: Annotated[float, typer.Option(help="Gap between the parts.")] = 7,
    cutoffs: Annotated[int, typer.Option(min=1, help="Rolling cut-offs.")] = 3,
    label: Annotated[str, typer.Option(help="'source' or 'policy' breach.")] = "source",
    out: Annotated[Path, typer.Option(help="Report folder.")] = Path("var/evaluation"),
    database_url: Database = None,
) -> None:
    """Evaluate model and baselines on rolling cut-offs; report; log to MLflow."""
    from stallwatch.evaluating import evaluate_command

    command_store(database_url, get_settings().database_url).dispose()
    evaluate_command(
        k=k, gap_days=gap_days, cutoffs=cutoffs, label=label, out=out, url=database_url
    )


@app.command()
def score(
    at: Annotated[str | None, typer.Option(help="Instant to score at.")] = None,
    limit: Annotated[int, typer.Option(min=1, help="Rows to show.")] = 20,
    database_url: Database = None,
) -> None:
    """Print the open tickets ranked for escalation at a moment."""
    from models.backlog import Backlog
    from models.service import StallService

    settings = get_settings()
    moment = _moment(at) or settings.now or datetime.now(UTC)
    engine = command_store(database_url, settings.database_url)
    service = StallService(Backlog(engine, _desk()), settings.model_dir)
    page = service.escalations(at=moment, limit=limit)
    typer.echo(
        f"{page.total} open tickets at {moment.isoformat()}, model {page.model_version}"
    )
    for item in page.items:
        risk = "-" if item.probability is None else f"{item.probability:.2f}"
        reasons = "; ".join(r.text for r in item.reasons)
        typer.echo(
            f"{item.rank:>4} {item.ticket_id:<12} {item.why.flag:<6} risk {risk}  "
            f"{item.why.explanation} | {reasons}"
        )


@app.command()
def serve(
    host: Annotated[str | None, typer.Option()] = None,
    port: Annotated[int | None, typer.Option()] = None,
    at: Annotated[
        str | None, typer.Option(help="Replay: treat this instant as now.")
    ] = None,
    workers: Annotated[
        int, typer.Option(min=1, help="uvicorn worker processes (share nothing).")
    ] = 1,
) -> None:
    """Run the HTTP service."""
    import uvicorn

    from api.app import create_app
    from stallwatch.serving import serve_workers, startup_problem

    settings = get_settings().model_copy()
    if at is not None:
        settings.now = _moment(at)
    host, port = host or settings.host, port or settings.port
    _desk()  # a bad desk file is a listed problem, not a traceback from uvicorn
    if problem := startup_problem(settings, host, port):
        typer.echo(problem, err=True)
        raise typer.Exit(code=2)
    if workers > 1:
        serve_workers(settings, host, port, workers)
        return
    uvicorn.run(create_app(settings), host=host, port=port, log_config=None)


@app.command()
def demo(
    at: Annotated[str, typer.Option(help="Replay moment.")] = DEMO_MOMENT,
    port: Annotated[int | None, typer.Option()] = None,
    no_serve: Annotated[
        bool, typer.Option("--no-serve", help="Stop after training and scoring.")
    ] = False,
) -> None:
    """Import the bundled real log, train, score, and serve it as of a replay moment."""
    started = time.perf_counter()
    if not no_serve:  # find a busy port now, not after minutes of training
        from stallwatch.serving import check_port_free

        if problem := check_port_free(get_settings().host, port or get_settings().port):
            typer.echo(problem, err=True)
            raise typer.Exit(code=2)
    import_log(source="uci", path=BUNDLED_UCI, mapping=None, source_timezone="UTC")
    # The policy label's model beats the rule on every cut-off; the gate decides.
    train(k=50, gap_days=7, known_at=at, label="policy", sla_features=True)
    run_promote(get_settings(), None)
    if warning := replay_warning(get_settings(), at):
        typer.echo(warning, err=True)
    score(at=at, limit=10)
    typer.echo(f"demo pipeline finished in {time.perf_counter() - started:.0f} s")
    settings = get_settings()
    base_url = f"http://{settings.host}:{port or settings.port}"
    typer.echo(prepare_demo_access(base_url))
    if no_serve:
        return
    typer.echo(f"serving on {base_url} as of {at}; open {base_url}/ for the page")
    serve(host=None, port=port, at=at)


@app.command()
def worker(
    once: Annotated[bool, typer.Option("--once", help="One tick, then stop.")] = False,
) -> None:
    """Evaluate alert rules every few minutes and deliver the outbox."""
    from stallwatch.worker import run_worker

    try:
        summary = run_worker(get_settings(), once=once)
    except ValueError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(code=2) from exc
    if summary is not None:
        typer.echo(summary)


@app.command("evaluate-ttb")
def evaluate_ttb(
    gap_days: Annotated[float, typer.Option(help="Gap before each test window.")] = 7,
    label: Annotated[str, typer.Option(help="'source' or 'policy' breach.")] = "source",
    database_url: Database = None,
) -> None:
    """Measure time to breach against the median-remaining baseline."""
    from stallwatch.timing import run_evaluate_ttb

    if label not in ("source", "policy"):
        raise typer.BadParameter(f"--label {label!r}: expected source or policy")
    url = database_url or get_settings().database_url
    command_store(database_url, url).dispose()
    mode: Literal["source", "policy"] = "policy" if label == "policy" else "source"
    try:
        typer.echo(run_evaluate_ttb(url, _desk(), label=mode, gap_days=gap_days))
    except ValueError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(code=2) from exc


@app.command("evaluate-remaining")
def evaluate_remaining(
    path: Annotated[Path, typer.Argument(help="The reduced Helpdesk CSV.")],
    gap_days: Annotated[float, typer.Option(help="Gap of the split by time.")] = 28,
) -> None:
    """Remaining time: the papers' file-order split beside a split by time."""
    from stallwatch.timing import run_evaluate_remaining

    try:
        typer.echo(run_evaluate_remaining(path, gap_days=gap_days))
    except ValueError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(code=2) from exc


@app.command("sla-check")
def sla_check(
    directory: Annotated[
        Path, typer.Argument(help="Folder of sla-case/1 JSON files.")
    ] = REPO_ROOT.parent / "shared" / "sla-cases",
) -> None:
    """Check the SLA engine against every case file in a folder."""
    from features.sla import run_case_directory

    report = run_case_directory(directory)
    typer.echo(report.render())
    if not report.ok:
        raise typer.Exit(code=1)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(app())
