"""Bodies of ``stallwatch evaluate-ttb`` and ``stallwatch evaluate-remaining``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from features.sla.desk import SlaDesk


class NothingToEvaluateError(ValueError):
    """The input holds nothing the evaluation can use."""


def _cutoff_lines(results: list[dict[str, Any]]) -> list[str]:
    lines = []
    for r in results:
        if "skipped" in r:
            lines.append(f"- cut-off {r['cutoff']}: skipped ({r['skipped']})")
            continue
        lines.append(
            f"- cut-off {r['cutoff']}: {r['train_moments']} training moments "
            f"({r['train_censored_moments']} censored), {r['test_tickets']} test "
            f"tickets with an observed outcome ({r['test_breach_share']:.1%} "
            f"breaches), {r['backlog_tickets']} open at the cut-off"
        )
    return lines


def run_evaluate_ttb(
    database_url: str,
    desk: SlaDesk,
    *,
    label: Literal["source", "policy"],
    gap_days: float,
    cutoffs: int = 3,
) -> str:
    """Measure the time-to-breach model on the store; return a Markdown report."""
    import pandas as pd

    from features.store import create_schema, make_engine, read_events
    from training.time_to_breach_eval import evaluate_time_to_breach
    from training.time_to_breach_metrics import ttb_table

    engine = make_engine(database_url)
    create_schema(engine)
    events = read_events(engine)
    if events.empty:
        raise NothingToEvaluateError(
            "the store holds no events: run `stallwatch import` first"
        )
    results = evaluate_time_to_breach(
        events,
        desk=desk,
        label=label,
        n_cutoffs=cutoffs,
        gap=pd.Timedelta(days=gap_days),
    )
    head = [
        f"Time to breach or resolution, desk {desk.name}, label {label}, "
        f"gap {gap_days:g} days; mean ± sd over the cut-offs.",
        "",
        *_cutoff_lines(results),
        "",
    ]
    return "\n".join(head) + ttb_table(results)


def run_evaluate_remaining(path: Path, *, gap_days: float) -> str:
    """Run both protocols on the reduced Helpdesk log; return a Markdown table."""
    import pandas as pd

    from training.remaining_time import compare_protocols

    if not path.is_file():
        raise NothingToEvaluateError(f"{path}: no such file")
    result = compare_protocols(path, gap=pd.Timedelta(days=gap_days))
    papers, strict, log = result["file_order"], result["temporal"], result["log"]
    rows = [
        ("LightGBM, aggregated prefix", "lightgbm"),
        ("median remaining per (prefix length, last activity)", "median_baseline"),
        ("global mean remaining", "mean_baseline"),
    ]
    lines = [
        f"Reduced Helpdesk log: {log['cases']} cases, {log['events']} events, "
        f"mean case duration {log['mean_case_days']:.2f} days, mean remaining "
        f"time over all prefixes {log['mean_remaining_days']:.2f} days.",
        f"Temporal split: cut-off {strict['cutoff']}, training knows cases "
        f"finished by {strict['known_at']} (gap {gap_days:g} days).",
        f"Case id and case start have a rank correlation of "
        f"{log['case_id_start_spearman']:.2f}; the two test sets share "
        f"{log['shared_test_cases']} cases.",
        "",
        "| MAE, days (all prefixes) | file order (papers) | by time, with gap "
        "| by time minus file order |",
        "|---|---|---|---|",
    ]
    for name, key in rows:
        a, b = papers[f"{key}.mae_days"], strict[f"{key}.mae_days"]
        lines.append(f"| {name} | {a:.2f} | {b:.2f} | {b - a:+.2f} |")
    gains = [
        1.0 - p["lightgbm.mae_days"] / p["median_baseline.mae_days"]
        for p in (papers, strict)
    ]
    lines.append(
        f"| LightGBM's MAE below the median baseline | {gains[0]:.1%} "
        f"| {gains[1]:.1%} | {gains[1] - gains[0]:+.1%} |"
    )
    for what in ("train_cases", "test_cases", "test_prefixes"):
        lines.append(
            f"| {what.replace('_', ' ')} | {papers[what]} | {strict[what]} | |"
        )
    mean_truth = "test mean remaining, days"
    lines.append(
        f"| {mean_truth} | {papers['test_mean_remaining_days']:.2f} "
        f"| {strict['test_mean_remaining_days']:.2f} | |"
    )
    return "\n".join(lines) + "\n"
