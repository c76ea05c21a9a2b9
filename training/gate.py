"""The promotion gate: may a trained model replace the one the service loads?

A candidate passes when

1. on **every** cut-off of its recorded rolling evaluation, its precision@k is
   strictly higher than the rule-only SLA ranking's at the same k on the same
   test tickets (a skipped cut-off, or one without a value, fails), and
2. it is **no worse than the champion**: its mean precision@k lift over the
   rule (model minus rule, averaged over its cut-offs) is not lower than the
   champion's mean lift over the champion's own cut-offs. When both were
   evaluated on the same cut-offs the rule's values are the same, so this is
   exactly "mean precision@k on the same cut-offs not lower". When a new
   export moved the cut-offs, the lift keeps the comparison fair to windows
   that are easier or harder for every scorer. Both must use the same k and
   the same label, or the gate refuses: that choice is a human's (``--force``).

Everything here is pure: tables in, a decision out.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

#: Metrics a gate may judge on (keys of the per-cut-off results, per scorer).
GATE_METRICS = {
    "first": "first_precision_at_k",
    "daily": "daily_precision_at_k",
    "all": "all_precision_at_k",
}
#: Differences smaller than this are float noise, not a loss.
TOLERANCE = 1e-9


@dataclass(frozen=True)
class CutoffScore:
    """The model's and the rule's precision@k on one rolling cut-off.

    Attributes
    ----------
    cutoff : str
        The cut-off's start, ISO 8601.
    model, rule : float
        Precision@k of the model and of the rule-only ranking; NaN when the
        cut-off was skipped or the metric has no value (too few tickets).
    skipped : str or None
        Why the cut-off was not evaluated, if it was not.
    """

    cutoff: str
    model: float
    rule: float
    skipped: str | None = None

    @property
    def lift(self) -> float:
        """Model minus rule; NaN when either is missing."""
        return self.model - self.rule


@dataclass(frozen=True)
class Evaluation:
    """A model's recorded evaluation, as the gate reads it.

    Attributes
    ----------
    cutoffs : list of CutoffScore
        One entry per rolling cut-off, in time order.
    k : int
        Tickets a manager reviews at once.
    label : str
        What counted as a stall (``source`` or ``policy``).
    """

    cutoffs: list[CutoffScore]
    k: int
    label: str

    @property
    def mean_lift(self) -> float:
        """Mean precision@k lift over the rule on the evaluated cut-offs, or NaN."""
        lifts = [c.lift for c in self.cutoffs if not math.isnan(c.lift)]
        return sum(lifts) / len(lifts) if lifts else float("nan")


@dataclass(frozen=True)
class GateDecision:
    """The verdict, with every reason it failed (empty when it passed)."""

    passed: bool
    reasons: list[str] = field(default_factory=list)


def cutoff_scores(
    per_cutoff: Sequence[Mapping[str, Any]],
    *,
    metric: str = GATE_METRICS["first"],
    model: str = "lightgbm",
    baseline: str = "rule",
) -> list[CutoffScore]:
    """Read the gate's numbers out of per-cut-off training results.

    Parameters
    ----------
    per_cutoff : sequence of mapping
        One mapping per cut-off with ``cutoff``, optionally ``skipped``, and
        ``<scorer>.<metric>`` values, as ``run_training`` records them.
    metric : str
        The precision@k column to judge on.
    model, baseline : str
        Scorer names of the candidate model and of the rule-only ranking.

    Returns
    -------
    list of CutoffScore
        In the order given.
    """

    def value(row: Mapping[str, Any], scorer: str) -> float:
        found = row.get(f"{scorer}.{metric}")
        return float("nan") if found is None else float(found)

    return [
        CutoffScore(
            cutoff=str(row.get("cutoff", "?")),
            model=value(row, model),
            rule=value(row, baseline),
            skipped=str(row["skipped"]) if row.get("skipped") else None,
        )
        for row in per_cutoff
    ]


def judge(candidate: Evaluation, champion: Evaluation | None) -> GateDecision:
    """Decide whether ``candidate`` may replace ``champion`` (None: no champion).

    See the module docstring for the two conditions.
    """
    reasons: list[str] = []
    if not candidate.cutoffs:
        reasons.append("the candidate has no recorded cut-off to judge")
    for c in candidate.cutoffs:
        day = c.cutoff[:10]
        if c.skipped:
            reasons.append(f"cut-off {day} was skipped: {c.skipped}")
        elif math.isnan(c.model) or math.isnan(c.rule):
            reasons.append(f"cut-off {day} has no precision@{candidate.k} value")
        elif c.model <= c.rule:
            reasons.append(
                f"cut-off {day}: precision@{candidate.k} {c.model:.3f} does not "
                f"beat the rule's {c.rule:.3f}"
            )

    if champion is not None:
        if champion.k != candidate.k:
            reasons.append(
                f"the champion was evaluated at k = {champion.k}, the candidate "
                f"at k = {candidate.k}: not comparable"
            )
        elif champion.label != candidate.label:
            reasons.append(
                f"the champion predicts the {champion.label!r} label, the "
                f"candidate the {candidate.label!r} label: not comparable"
            )
        elif not math.isnan(champion.mean_lift) and not (
            candidate.mean_lift >= champion.mean_lift - TOLERANCE
        ):
            reasons.append(
                f"mean precision@{candidate.k} lift over the rule "
                f"{candidate.mean_lift:+.3f} is below the champion's "
                f"{champion.mean_lift:+.3f}"
            )
    return GateDecision(passed=not reasons, reasons=reasons)


def _cell(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{value:.3f}"


def comparison_table(
    candidate: Evaluation,
    champion: Evaluation | None,
    *,
    candidate_name: str,
    champion_name: str | None,
) -> str:
    """Render both evaluations cut-off by cut-off, then the mean lifts, as Markdown."""
    k = candidate.k
    lines = [
        f"| model | cut-off | model precision@{k} | rule precision@{k} | lift |",
        "|---|---|---|---|---|",
    ]
    entries = [(candidate_name, candidate)]
    if champion is not None:
        entries.append((champion_name or "champion", champion))
    for name, evaluation in entries:
        for c in evaluation.cutoffs:
            lift = "skipped" if c.skipped else _cell(c.lift)
            lines.append(
                f"| {name} | {c.cutoff[:10]} | {_cell(c.model)} | {_cell(c.rule)} "
                f"| {lift} |"
            )
    lines.append("")
    for name, evaluation in entries:
        lines.append(
            f"- {name}: label {evaluation.label!r}, k = {evaluation.k}, mean lift "
            f"over the rule {_cell(evaluation.mean_lift)}"
        )
    if champion is None:
        lines.append("- no champion yet: the candidate only has to beat the rule")
    return "\n".join(lines) + "\n"
