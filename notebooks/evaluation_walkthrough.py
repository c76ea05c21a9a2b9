# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Walking through an evaluation report
#
# `stallwatch evaluate` runs the rolling-origin protocol of
# `../shared/EVALUATION.md` and writes a Markdown report. This notebook runs the
# same evaluation (`training.evaluation.run_evaluation`) and reads its parts
# one by one: the cut-offs, the model against the rule-only ranking at the
# manager's daily capacity, the precision@k curve, and the reliability of the
# probabilities before and after calibration.
#
# Parameters are in the next cell; papermill or the test suite can inject a
# cell after it. `ROWS` keeps only the log file's first rows (None: all of it;
# the whole bundled UCI log takes several minutes on a laptop). `DESK` is the SLA
# set-up whose clocks become features and, with `LABEL = "policy"`, labels.

# %% tags=["parameters"]
SOURCE = "uci"
PATH = "data/uci_incidents/incident_event_log.csv.gz"
ROWS = None
DESK = "features/sla/desks/uci.yaml"
LABEL = "source"
K = 50
GAP_DAYS = 7.0
CUTOFFS = 3

# %%
import logging
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from IPython.display import display

import features
from features.importers.boston311 import load_boston311
from features.importers.bpi2013 import load_bpi2013
from features.importers.helpdesk import load_helpdesk
from features.importers.uci import load_uci
from features.sla.desk import load_desk_file
from training.evaluation import (
    SCORERS,
    per_cutoff_frame,
    precision_at_k_by_cutoff,
    run_evaluation,
    summary_metrics,
)

logging.getLogger("stallwatch").setLevel(logging.ERROR)
LOADERS = {
    "uci": load_uci,
    "helpdesk": load_helpdesk,
    "bpi2013": load_bpi2013,
    "boston311": load_boston311,
}


def repo_root() -> Path:
    """The repository stallwatch is installed from (``pip install -e``)."""
    return Path(features.__file__).resolve().parent.parent


def read_log(source: str, path: str, rows: int | None) -> pd.DataFrame:
    """Canonical events of a log, or of its first ``rows`` data rows."""
    file = repo_root() / path
    if rows is not None:
        head = pd.read_csv(file, dtype=str, keep_default_na=False, nrows=rows)
        file = Path(tempfile.mkdtemp()) / "head.csv"
        head.to_csv(file, index=False)
    return LOADERS[source](file).events


events = read_log(SOURCE, PATH, ROWS)
desk = load_desk_file(repo_root() / DESK) if DESK else None
result = run_evaluation(
    events,
    data_sha256="notebook",
    k=K,
    n_cutoffs=CUTOFFS,
    gap=pd.Timedelta(days=GAP_DAYS),
    desk=desk,
    label=LABEL,
)
print(
    f"{result.params['tickets']:,} tickets ({result.params['censored_tickets']:,} "
    f"censored), {len(result.evaluated)} of {len(result.cutoffs)} cut-offs "
    f"evaluated in {result.seconds:.0f} s"
)

# %% [markdown]
# ## The cut-offs
#
# Each cut-off trains on tickets whose outcome was known before it (minus a
# gap), calibrates on a later validation window, and tests on the tickets
# created after it. A cut-off with too few finished tickets on one side is
# skipped, and the report says why instead of printing a number.

# %%
cutoffs = per_cutoff_frame(result)
columns = ["cutoff", "train_tickets", "validation_tickets", "test_tickets", "skipped"]
cutoffs[columns]

# %% [markdown]
# ## Model against the rule, at the manager's capacity
#
# Every day at the review hour the manager looks at the `K` highest-ranked open
# tickets. Precision@k is the share of them that went on to breach; the
# rule-only baseline ranks by the SLA clock alone. The model has to beat the
# rule on every cut-off, not on average.

# %%
versus = precision_at_k_by_cutoff(result)
display(versus)

fig, ax = plt.subplots(figsize=(7, 3))
position = np.arange(len(versus))
ax.bar(position - 0.2, versus["model"], width=0.4, label="LightGBM")
ax.bar(position + 0.2, versus["rule"], width=0.4, label="rule only")
ax.set_xticks(position, [c[:10] for c in versus["cutoff"]])
ax.set_ylabel(f"precision@{K}, daily review")
ax.set_ylim(0, 1)
ax.legend()
ax.set_title("Daily review precision per cut-off")
plt.show()

# %% [markdown]
# Mean ± spread over the evaluated cut-offs, for every scorer: discrimination
# at a ticket's first moment (triage on arrival) and over all moments, and the
# daily review.

# %%
summary = summary_metrics(result)
headline = [
    "first_pr_auc",
    "first_roc_auc",
    "all_pr_auc",
    "all_roc_auc",
    "review_precision_at_k",
    "review_recall_at_k",
    "lead_time_median_h",
]
table = pd.DataFrame(
    {
        scorer: [
            f"{summary.get(f'{scorer}.{m}.mean', np.nan):.3f}"
            f" ± {summary.get(f'{scorer}.{m}.std', np.nan):.3f}"
            for m in headline
        ]
        for scorer in SCORERS
    },
    index=headline,
)
table

# %% [markdown]
# ## Precision@k as the capacity changes
#
# The same daily review with a smaller or larger list. Where the curves cross
# is where the rule stops being good enough.

# %%
evaluated = result.evaluated
fig, axes = plt.subplots(
    1, len(evaluated), figsize=(4 * len(evaluated), 3), squeeze=False
)
for ax, cut in zip(axes[0], evaluated, strict=True):
    curve = cut.topk_curve
    for scorer in ("lightgbm", "rule"):
        ax.plot(curve.index, curve[scorer], marker=".", label=scorer)
    ax.axvline(K, color="grey", linestyle=":")
    ax.set_title(cut.cutoff[:10])
    ax.set_xlabel("k (tickets reviewed per day)")
axes[0][0].set_ylabel("precision@k")
axes[0][0].legend()
plt.show()

# %% [markdown]
# ## Reliability of the probabilities
#
# Test moments of every evaluated cut-off, binned by predicted probability:
# a calibrated model sits on the diagonal. "Raw" is LightGBM's own output,
# "served" what the service would return (the validation window decides
# whether an isotonic map is applied). Expected calibration error is the
# bin-weighted distance from the diagonal.


# %%
def reliability(y: np.ndarray, p: np.ndarray, bins: int = 10) -> pd.DataFrame:
    """Mean probability, outcome rate and count per equal-width bin."""
    which = np.minimum((p * bins).astype(int), bins - 1)
    frame = pd.DataFrame({"bin": which, "p": p, "y": y})
    return frame.groupby("bin").agg(
        predicted=("p", "mean"), observed=("y", "mean"), n=("y", "size")
    )


scored = pd.concat([c.scored for c in evaluated], ignore_index=True)
outcome = scored["stalled"].to_numpy(dtype=float)
fig, ax = plt.subplots(figsize=(4.5, 4.5))
ax.plot([0, 1], [0, 1], color="grey", linestyle=":")
ece = {}
for name, column in (("raw", "score_lightgbm"), ("served", "prob_lightgbm")):
    bins = reliability(outcome, scored[column].to_numpy(dtype=float))
    ece[name] = float(
        (bins["n"] * (bins["predicted"] - bins["observed"]).abs()).sum()
        / bins["n"].sum()
    )
    ax.plot(
        bins["predicted"],
        bins["observed"],
        marker="o",
        label=f"{name}, ECE {ece[name]:.3f}",
    )
ax.set_xlabel("predicted stall probability")
ax.set_ylabel("observed stall rate")
ax.legend()
ax.set_title("Reliability, all evaluated test moments")
plt.show()
print(
    "calibration chosen per cut-off:",
    [c.calibration.get("lightgbm") for c in evaluated],
)
cutoffs[["cutoff", "lightgbm.all_ece_raw", "lightgbm.all_ece_calibrated"]]

# %% [markdown]
# ## Reading it
#
# - Trust the per-cut-off rows over the means: three cut-offs make a spread,
#   not a confidence interval.
# - First-moment figures are the honest ones for triage; pooled over all
#   moments, long-open tickets (which nearly all breach) flatter every scorer.
# - The same report, with its figures, comes from
#   `stallwatch evaluate` (see the README), which also logs it to MLflow.
