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
# # Exploring a ticket log
#
# Hand-offs, waits, durations and breach rates of one help-desk log, read
# through stallwatch's own importers and as-of feature builder, so every number
# here is the one the model learns from.
#
# The next cell holds the parameters. Change them here, or let papermill or
# the test suite inject a cell after it (`papermill -p ROWS 20000 ...`).
# `SOURCE` is one of `uci`, `helpdesk`, `bpi2013`, `boston311`; `PATH` is
# relative to the repository (the other logs live in `../shared/data/`);
# `ROWS` keeps only the file's first rows (None: the whole log). `DESK`, a
# desk file such as `features/sla/desks/helpdesk.yaml`, counts a breach of
# that desk's SLA policy (the SLA engine's clocks) instead of the source's own
# breaches: Helpdesk and BPI 2013 carry none of their own.

# %% tags=["parameters"]
SOURCE = "uci"
PATH = "data/uci_incidents/incident_event_log.csv.gz"
ROWS = None
DESK = None
TOP = 10

# %%
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from IPython.display import display

import features
from features.asof import event_states
from features.importers.boston311 import load_boston311
from features.importers.bpi2013 import load_bpi2013
from features.importers.helpdesk import load_helpdesk
from features.importers.uci import load_uci
from features.sla.desk import load_desk_file
from features.sla.features import breach_instants
from features.sla.table import clock_history_frame
from training.dataset import ticket_outcomes

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
print(
    f"{SOURCE}: {len(events):,} events, {events['ticket_id'].nunique():,} tickets, "
    f"{events['occurred_at'].min():%Y-%m-%d} to {events['occurred_at'].max():%Y-%m-%d}"
)
events["kind"].value_counts().to_frame("events")

# %% [markdown]
# ## One row per ticket
#
# `event_states` folds each ticket's events into its state after every
# instant; the last state is the ticket as the log leaves it, the `created`
# event the ticket as it was opened. The outcome (`stalled`) is the
# source's own SLA breach, or with `DESK` a breach of that desk's policy;
# tickets neither breached nor closed by the end of the log are censored (NA).

# %%
states = event_states(events)
last = states.drop_duplicates("ticket_id", keep="last").set_index("ticket_id")
created = events[events["kind"] == "created"]
first = created.drop_duplicates("ticket_id").set_index("ticket_id")
breached_at = None
if DESK:
    history, _ = clock_history_frame(load_desk_file(repo_root() / DESK), events)
    breached_at = breach_instants(history, data_end=events["occurred_at"].max())
outcomes = ticket_outcomes(events, breached_at=breached_at)

tickets = pd.DataFrame(
    {
        "category": first["category"],
        "priority": first["priority"],
        "channel": first["channel"],
        "handoffs": last["handoffs"],
        "returns": last["group_returns"],
        "teams": last["distinct_groups"],
        "waited_customer_h": last["ns_status_waiting_customer"] / 3.6e12,
        "waited_third_party_h": last["ns_status_waiting_third_party"] / 3.6e12,
        "stalled": outcomes["stalled"],
    }
)
print(
    "censored (outcome unknown at the end of the log):",
    f"{tickets['stalled'].isna().sum():,}",
)
tickets.describe().T

# %% [markdown]
# ## Hand-offs
#
# A hand-off is a change of team; a return goes back to a team the ticket had
# already left (ping-pong). The chart shows how many tickets had each number
# of hand-offs, and the table the stall rate by hand-off count.

# %%
counts = tickets["handoffs"].clip(upper=8).value_counts().sort_index()
fig, ax = plt.subplots(figsize=(7, 3))
ax.bar(counts.index.astype(int).astype(str), counts.to_numpy(), color="tab:blue")
ax.set_xlabel("hand-offs per ticket (8 = 8 or more)")
ax.set_ylabel("tickets")
ax.set_title("Hand-offs per ticket")
plt.show()

ping_pong = (tickets["returns"] > 0).mean()
print(f"tickets returned to a team they had left: {ping_pong:.1%}")
tickets.groupby(tickets["handoffs"].clip(upper=5))["stalled"].agg(["mean", "count"])

# %% [markdown]
# The most frequent team-to-team moves, from each hand-off event.

# %%
groups = events[["ticket_id", "group"]].copy()
groups["group"] = groups.groupby("ticket_id")["group"].ffill()
groups["from"] = groups.groupby("ticket_id")["group"].shift(1)
moves = groups[groups["from"].notna() & (groups["group"] != groups["from"])]
moves.groupby(["from", "group"]).size().nlargest(TOP).to_frame("hand-offs")

# %% [markdown]
# ## Waits
#
# Time spent waiting on the customer or a third party, in wall-clock hours
# (the SLA clocks pause then). Only tickets that ever waited are drawn.

# %%
waits = tickets[["waited_customer_h", "waited_third_party_h"]]
fig, ax = plt.subplots(figsize=(7, 3))
for column, colour in zip(waits.columns, ("tab:orange", "tab:green"), strict=True):
    hours = waits.loc[waits[column] > 0, column]
    if len(hours):
        ax.hist(np.log10(hours), bins=30, alpha=0.6, color=colour, label=column)
ax.set_xlabel("log10 hours waited")
ax.set_ylabel("tickets")
ax.legend()
ax.set_title("Waiting time per ticket")
plt.show()
(waits > 0).mean().to_frame("share of tickets that waited")

# %% [markdown]
# ## Durations
#
# From creation to the first `resolved` (or, failing that, `closed`) event, in
# days. Tickets never resolved in the log are left out.

# %%
done = events[events["kind"].isin(["resolved", "closed"])]
finished = done.groupby("ticket_id")["occurred_at"].min()
days = (
    finished - outcomes.loc[finished.index, "created_at"]
).dt.total_seconds() / 86_400
tickets["days_to_resolve"] = days
fig, ax = plt.subplots(figsize=(7, 3))
ax.hist(days.clip(upper=days.quantile(0.99)), bins=40, color="tab:purple")
ax.set_xlabel("days from creation to resolution (clipped at the 99th percentile)")
ax.set_ylabel("tickets")
ax.set_title("Time to resolution")
plt.show()
tickets.groupby("priority")["days_to_resolve"].agg(
    tickets="count", median="median", p90=lambda d: d.quantile(0.9)
)

# %% [markdown]
# ## Breach rates by category
#
# The share of tickets with a known outcome that breached, by the category
# (and priority, channel) they were opened with. The most frequent categories
# only; the bars show the rate, the labels the number of tickets.

# %%
known = tickets[tickets["stalled"].notna()].astype({"stalled": "float64"})
by_category = (
    known.groupby("category")["stalled"]
    .agg(breach_rate="mean", tickets="count")
    .nlargest(TOP, "tickets")
)
fig, ax = plt.subplots(figsize=(7, 3.5))
bars = ax.barh(
    by_category.index[::-1], by_category["breach_rate"][::-1], color="tab:red"
)
ax.bar_label(bars, labels=[f"n={n}" for n in by_category["tickets"][::-1]], padding=2)
ax.axvline(known["stalled"].mean(), color="black", linestyle=":", label="all tickets")
ax.set_xlabel("breach rate")
ax.set_xlim(0, 1.12)
ax.legend()
ax.set_title(f"Breach rate of the {TOP} largest categories")
plt.show()
print(f"breach rate, all tickets with a known outcome: {known['stalled'].mean():.3f}")
by_category

# %%
for column in ("priority", "channel"):
    display(known.groupby(column)["stalled"].agg(breach_rate="mean", tickets="count"))
