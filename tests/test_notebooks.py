"""The notebooks run end to end on a slice of the bundled log, so they never rot."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jupytext
import nbformat
import numpy as np
import pandas as pd
import pytest
from nbclient import NotebookClient
from scipy.stats import mannwhitneyu

from tests.conftest import REPO, UCI_FILE

NOTEBOOKS = REPO / "notebooks"
#: Enough of the UCI log for two evaluated cut-offs under the policy label.
ROWS = 20_000


def _run(name: str, parameters: str, dump: str, out: Path) -> tuple[Any, dict]:
    """Execute a notebook with injected parameters; return it and what it dumped.

    The parameters cell goes right after the one tagged ``parameters``, as
    papermill does; ``dump`` is code appended at the end that writes the
    values under test to ``out`` as JSON.
    """
    notebook = jupytext.read(NOTEBOOKS / name)
    tagged = [
        i
        for i, cell in enumerate(notebook.cells)
        if "parameters" in cell.metadata.get("tags", [])
    ]
    assert len(tagged) == 1, f"{name} needs exactly one cell tagged 'parameters'"
    notebook.cells.insert(tagged[0] + 1, nbformat.v4.new_code_cell(parameters))
    notebook.cells.append(nbformat.v4.new_code_cell(dump.format(out=str(out))))
    client = NotebookClient(
        notebook,
        timeout=300,
        kernel_name="python3",
        resources={"metadata": {"path": str(NOTEBOOKS)}},
    )
    client.execute()
    return notebook, json.loads(out.read_text())


def _outputs(notebook: Any, kind: str) -> list[Any]:
    return [
        output
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.get("outputs", [])
        if kind in output.get("data", {}) or output.get("name") == kind
    ]


def _raw_incidents() -> pd.DataFrame:
    """Per incident of the slice, straight from the CSV: category and outcome."""
    rows = pd.read_csv(UCI_FILE, dtype=str, keep_default_na=False, nrows=ROWS)
    rows["mod"] = rows["sys_mod_count"].astype(int)
    rows = rows.sort_values(["number", "mod"], kind="stable")
    by = rows.groupby("number")
    return pd.DataFrame(
        {
            "category": by["category"].first().replace("?", np.nan),
            "breached": by["made_sla"].agg(lambda s: (s == "false").any()),
            "closed": by["incident_state"].agg(lambda s: (s == "Closed").any()),
        }
    )


def test_notebooks_explore_log_breach_rates_match_the_raw_file(
    tmp_path: Path,
) -> None:
    dump = (
        "import json\n"
        "json.dump({{'overall': float(known['stalled'].mean()),\n"
        "  'by_category': by_category['breach_rate'].to_dict(),\n"
        "  'tickets': by_category['tickets'].astype(int).to_dict()}},\n"
        "  open({out!r}, 'w'))"
    )
    notebook, got = _run(
        "explore_log.py", f"ROWS = {ROWS}", dump, tmp_path / "explore.json"
    )

    # Independently: an incident breached if any snapshot says made_sla false.
    raw = _raw_incidents()
    known = raw[raw["breached"] | raw["closed"]]
    rate = known.groupby("category")["breached"].agg(["mean", "size"])
    largest = rate.nlargest(10, "size")
    assert got["tickets"] == largest["size"].to_dict()
    assert got["by_category"] == pytest.approx(largest["mean"].to_dict())
    assert got["overall"] == pytest.approx(known["breached"].mean())

    # The printed figure and the charts are in the executed notebook.
    printed = "".join(o["text"] for o in _outputs(notebook, "stdout"))
    overall = f"{known['breached'].mean():.3f}"
    assert f"breach rate, all tickets with a known outcome: {overall}" in printed
    assert len(_outputs(notebook, "image/png")) == 4


def test_notebooks_evaluation_walkthrough_reports_what_the_scores_say(
    tmp_path: Path,
) -> None:
    parameters = f'ROWS = {ROWS}\nLABEL = "policy"\nK = 20\nGAP_DAYS = 1.0'
    dump = (
        "import json\n"
        "cut = evaluated[0]\n"
        "cut.scored.to_csv({out!r} + '.csv', index=False)\n"
        "json.dump({{'roc_auc': cut.metrics['lightgbm.first_roc_auc'],\n"
        "  'evaluated': len(evaluated), 'ece': ece}}, open({out!r}, 'w'))"
    )
    out = tmp_path / "walk.json"
    notebook, got = _run("evaluation_walkthrough.py", parameters, dump, out)

    # The first-moment ROC-AUC, recomputed as a Mann-Whitney U statistic.
    scored = pd.read_csv(f"{out}.csv")
    first = scored[scored["first_moment"]]
    stalled = first["stalled"].astype(bool)
    u = mannwhitneyu(
        first.loc[stalled, "score_lightgbm"], first.loc[~stalled, "score_lightgbm"]
    ).statistic
    assert got["roc_auc"] == pytest.approx(u / (stalled.sum() * (~stalled).sum()))
    assert got["evaluated"] >= 1
    assert 0.0 <= got["ece"]["raw"] <= 1.0

    # The ticket count it prints is the slice's number of incidents.
    printed = "".join(o["text"] for o in _outputs(notebook, "stdout"))
    incidents = len(_raw_incidents())
    assert printed.startswith(f"{incidents:,} tickets (")
    assert len(_outputs(notebook, "image/png")) == 3
