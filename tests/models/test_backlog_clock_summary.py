"""The per-row clock summary that the list and the reasons read."""

from __future__ import annotations

import pandas as pd

from models.backlog import _clock_summaries


def test_clock_summaries_group_each_rows_clocks_and_leave_rows_without_any() -> None:
    clocks = pd.DataFrame(
        {
            "order": [2, 0, 0, 2, 0],
            "target": [
                "first_response",
                "first_response",
                "resolution",
                "resolution",
                "next_response",
            ],
            "state": ["met", "breached", "running", "paused", "none"],
        }
    )

    summaries = _clock_summaries(clocks, 4)

    assert summaries == [
        {
            "first_response": "breached",
            "resolution": "running",
            "next_response": "none",
        },
        None,
        {"first_response": "met", "resolution": "paused"},
        None,
    ]
