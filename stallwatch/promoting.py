"""The bodies of ``stallwatch promote`` and of the comparison ``train`` prints."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import typer

from stallwatch.settings import Settings

if TYPE_CHECKING:
    from mlflow import MlflowClient

    from training.gate import GateDecision
    from training.registry import ModelRecord

#: What ``--metric`` names, in a manager's words.
METRIC_WORDS = {
    "first": "at each ticket's first moment",
    "daily": "at the daily review",
    "all": "over all moments",
}


@dataclass(frozen=True)
class Comparison:
    """A candidate judged against the rule and the champion."""

    candidate: ModelRecord
    champion: ModelRecord | None
    decision: GateDecision
    table: str


def compare(client: MlflowClient, version: str | None, *, metric: str) -> Comparison:
    """Judge a registered version (the newest when None) against the champion."""
    from training.gate import GATE_METRICS, comparison_table, judge
    from training.registry import champion_version, model_record

    candidate = model_record(client, version)
    champion_id = champion_version(client)
    champion = None if champion_id is None else model_record(client, champion_id)
    column = GATE_METRICS[metric]
    mine = candidate.evaluation(column)
    theirs = None if champion is None else champion.evaluation(column)
    table = comparison_table(
        mine,
        theirs,
        candidate_name=f"v{candidate.version} (candidate)",
        champion_name=None if champion is None else f"v{champion.version} (champion)",
    )
    return Comparison(candidate, champion, judge(mine, theirs), table)


def _render(comparison: Comparison, *, metric: str) -> str:
    candidate = comparison.candidate
    header = (
        f"Version {candidate.version} (bundle {candidate.bundle_version}) against "
        f"the rule-only ranking and the champion, precision@{candidate.k} "
        f"{METRIC_WORDS[metric]}:"
    )
    lines = [header, "", comparison.table]
    if comparison.decision.passed:
        lines.append("The gate passes.")
    else:
        lines.append("The gate refuses:")
        lines += [f"- {reason}" for reason in comparison.decision.reasons]
    return "\n".join(lines)


def report_candidate(settings: Settings, version: str, *, metric: str) -> None:
    """Print how a freshly trained version compares, and the next command."""
    from training.registry import connect

    client = connect(settings.mlflow_tracking_uri)
    comparison = compare(client, version, metric=metric)
    typer.echo(_render(comparison, metric=metric))
    if comparison.decision.passed:
        typer.echo(f"Serve it with: stallwatch promote {version}")
    else:
        typer.echo(
            f"Not served. A human may override: stallwatch promote {version} "
            '--force --reason "..."'
        )


def run_promote(
    settings: Settings,
    version: str | None,
    *,
    metric: str = "first",
    force: bool = False,
    reason: str | None = None,
) -> bool:
    """Promote a version if the gate passes or a reason forces it.

    Returns
    -------
    bool
        Whether the version is now the champion and in ``CURRENT``.
    """
    from training.registry import PromotionError, connect, promote

    if metric not in METRIC_WORDS:
        raise typer.BadParameter(
            f"--metric {metric!r}: expected one of {', '.join(METRIC_WORDS)}"
        )
    if force and not (reason and reason.strip()):
        raise typer.BadParameter("--force needs --reason TEXT, recorded in MLflow")
    client = connect(settings.mlflow_tracking_uri)
    try:
        comparison = compare(client, version, metric=metric)
    except PromotionError as exc:
        typer.echo(f"cannot promote: {exc}", err=True)
        raise typer.Exit(code=2) from exc
    typer.echo(_render(comparison, metric=metric))
    candidate = comparison.candidate
    if not comparison.decision.passed and not force:
        kept = comparison.champion
        typer.echo(
            f"Version {candidate.version} is not promoted; the service keeps "
            + ("no model (rules only)." if kept is None else f"version {kept.version}.")
        )
        return False
    if comparison.decision.passed:
        verdict, why = "gate", reason or "passed the promotion gate"
    else:
        verdict, why = "forced", str(reason)
    try:
        promote(client, candidate, settings.model_dir, verdict=verdict, reason=why)
    except PromotionError as exc:
        typer.echo(f"cannot promote: {exc}", err=True)
        raise typer.Exit(code=2) from exc
    typer.echo(
        f"Version {candidate.version} is the champion ({verdict}); the service "
        f"serves bundle {candidate.bundle_version} from its next request."
    )
    return True


def replay_warning(settings: Settings, at: str) -> str | None:
    """Say so when the served model learned from events after the replay moment.

    The demo replays the store as of ``at``; a champion trained on later
    history (a data scientist's promotion) would make that replay see the
    future. None when the served model is older, or none is served.
    """
    import pandas as pd

    from training.bundle import BundleError, load_bundle

    try:
        bundle = load_bundle(settings.model_dir)
    except BundleError:
        return None
    params = bundle.card.get("params", {})
    # Bundles from before "data_until" name the creation window instead.
    until = (
        params.get("data_until") or str(params.get("data_window", "")).split(" .. ")[-1]
    )
    if not until:
        return None
    moment = pd.Timestamp(at)
    moment = moment.tz_localize("UTC") if moment.tzinfo is None else moment
    learned = pd.Timestamp(until)
    learned = learned.tz_localize("UTC") if learned.tzinfo is None else learned
    if learned <= moment:
        return None
    return (
        f"warning: the served model {bundle.version} learned from events up to "
        f"{learned.isoformat()}, after the replay moment {moment.isoformat()}, so "
        "this replay is not honest. Serve the demo's own version with "
        "`stallwatch promote N --force --reason 'demo replay'`, or run the demo "
        "in a fresh clone."
    )
