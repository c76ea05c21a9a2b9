"""The promotion gate on hand-made per-cut-off tables."""

from __future__ import annotations

import math

import pytest

from training.gate import (
    CutoffScore,
    Evaluation,
    comparison_table,
    cutoff_scores,
    judge,
)

CUTS = ("2016-04-13T06:33:00+00:00", "2016-04-27T09:19:00+00:00", "2016-05-09T11:49")


def _evaluation(
    pairs: list[tuple[float, float]], *, k: int = 50, label: str = "policy"
) -> Evaluation:
    return Evaluation(
        cutoffs=[
            CutoffScore(cutoff=c, model=m, rule=r)
            for c, (m, r) in zip(CUTS, pairs, strict=True)
        ],
        k=k,
        label=label,
    )


def test_judge_passes_a_first_model_that_beats_the_rule_on_every_cutoff() -> None:
    candidate = _evaluation([(0.62, 0.40), (0.70, 0.38), (0.76, 0.52)])

    decision = judge(candidate, None)

    assert decision.passed
    assert decision.reasons == []
    # (0.22 + 0.32 + 0.24) / 3
    assert candidate.mean_lift == pytest.approx(0.26)


def test_judge_refuses_a_model_that_loses_or_ties_on_one_cutoff() -> None:
    # The UCI source label: the rule's top 50 at the first moment are the
    # critical incidents, and it wins there.
    candidate = _evaluation([(0.78, 1.00), (0.98, 0.98), (0.90, 0.72)], label="source")

    decision = judge(candidate, None)

    assert not decision.passed
    assert decision.reasons == [
        "cut-off 2016-04-13: precision@50 0.780 does not beat the rule's 1.000",
        "cut-off 2016-04-27: precision@50 0.980 does not beat the rule's 0.980",
    ]


def test_judge_refuses_skipped_and_valueless_cutoffs() -> None:
    candidate = Evaluation(
        cutoffs=[
            CutoffScore(CUTS[0], math.nan, math.nan, skipped="no finished tickets"),
            CutoffScore(CUTS[1], math.nan, 0.4),
            CutoffScore(CUTS[2], 0.9, 0.4),
        ],
        k=20,
        label="policy",
    )

    decision = judge(candidate, None)

    assert decision.reasons == [
        "cut-off 2016-04-13 was skipped: no finished tickets",
        "cut-off 2016-04-27 has no precision@20 value",
    ]
    assert candidate.mean_lift == pytest.approx(0.5)


def test_judge_refuses_an_evaluation_without_cutoffs() -> None:
    decision = judge(Evaluation(cutoffs=[], k=50, label="policy"), None)

    assert decision.reasons == ["the candidate has no recorded cut-off to judge"]


def test_judge_compares_mean_lift_with_the_champion() -> None:
    champion = _evaluation([(0.60, 0.40), (0.60, 0.40), (0.60, 0.40)])  # lift 0.20
    same = _evaluation([(0.70, 0.40), (0.50, 0.40), (0.60, 0.40)])  # lift 0.20
    worse = _evaluation([(0.59, 0.40), (0.60, 0.40), (0.60, 0.40)])  # lift 0.19667

    assert judge(same, champion).passed
    refused = judge(worse, champion)
    assert refused.reasons == [
        "mean precision@50 lift over the rule +0.197 is below the champion's +0.200"
    ]


def test_judge_compares_lift_not_level_when_the_cutoffs_moved() -> None:
    # The champion's windows were easy for every scorer, the candidate's hard:
    # a lower precision with a larger lift over the rule is no worse.
    champion = _evaluation([(0.90, 0.80), (0.90, 0.80), (0.90, 0.80)])  # lift 0.10
    candidate = _evaluation([(0.50, 0.30), (0.50, 0.30), (0.50, 0.30)])  # lift 0.20

    assert judge(candidate, champion).passed


def test_judge_refuses_a_champion_at_another_k_or_label() -> None:
    candidate = _evaluation([(0.9, 0.1)] * 3)

    other_k = judge(candidate, _evaluation([(0.5, 0.4)] * 3, k=20))
    other_label = judge(candidate, _evaluation([(0.5, 0.4)] * 3, label="source"))

    assert other_k.reasons == [
        "the champion was evaluated at k = 20, the candidate at k = 50: not comparable"
    ]
    assert other_label.reasons == [
        "the champion predicts the 'source' label, the candidate the 'policy' "
        "label: not comparable"
    ]


def test_judge_ignores_a_champion_without_measured_lift() -> None:
    # A champion forced in over skipped cut-offs sets no bar to clear.
    champion = Evaluation(
        cutoffs=[CutoffScore(CUTS[0], math.nan, math.nan, skipped="too few")],
        k=50,
        label="policy",
    )
    candidate = _evaluation([(0.5, 0.4)] * 3)

    assert judge(candidate, champion).passed


def test_cutoff_scores_reads_training_results() -> None:
    per_cutoff = [
        {
            "cutoff": CUTS[0],
            "lightgbm.first_precision_at_k": 0.72,
            "rule.first_precision_at_k": 0.36,
            "lightgbm.daily_precision_at_k": 0.61,
            "rule.daily_precision_at_k": 0.58,
        },
        {"cutoff": CUTS[1], "skipped": "12 training moments with 1 class"},
    ]

    first = cutoff_scores(per_cutoff)
    daily = cutoff_scores(per_cutoff, metric="daily_precision_at_k")

    assert first[0] == CutoffScore(CUTS[0], 0.72, 0.36)
    assert daily[0] == CutoffScore(CUTS[0], 0.61, 0.58)
    assert first[1].skipped == "12 training moments with 1 class"
    assert math.isnan(first[1].model) and math.isnan(first[1].rule)


def test_comparison_table_lists_both_models_cutoff_by_cutoff() -> None:
    candidate = _evaluation([(0.62, 0.40), (0.70, 0.38), (0.76, 0.52)])
    champion = _evaluation([(0.60, 0.40), (0.60, 0.40), (0.60, 0.40)])

    table = comparison_table(
        candidate, champion, candidate_name="v2", champion_name="v1"
    )

    lines = table.splitlines()
    assert lines[2] == "| v2 | 2016-04-13 | 0.620 | 0.400 | 0.220 |"
    assert lines[7] == "| v1 | 2016-05-09 | 0.600 | 0.400 | 0.200 |"
    assert "- v2: label 'policy', k = 50, mean lift over the rule 0.260" in lines
    assert "- v1: label 'policy', k = 50, mean lift over the rule 0.200" in lines
