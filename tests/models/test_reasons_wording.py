"""How reasons say counts, durations and shares."""

from __future__ import annotations

import math

import pytest

from models.wording import as_text, business, count, percent, times, wall


@pytest.mark.parametrize(
    ("hours", "said"),
    [
        (0.25, "15 minutes"),
        (0.001, "1 minute"),
        (1.0, "1 hour"),
        (47.6, "48 hours"),
        (60.0, "2.5 days"),
        (72.0, "3 days"),
        (math.nan, "an unknown time"),
    ],
)
def test_wording_wall_durations_by_size(hours: float, said: str) -> None:
    assert wall(hours) == said


@pytest.mark.parametrize(
    ("minutes", "said"),
    [
        (30.4, "30 business minutes"),
        (60.0, "1 business hour"),
        (90.0, "1.5 business hours"),
        (1_560.0, "26 business hours"),
    ],
)
def test_wording_business_durations_stay_in_business_hours(
    minutes: float, said: str
) -> None:
    assert business(minutes) == said


def test_wording_counts_shares_and_missing_values() -> None:
    assert count(1, "team") == "one team"
    assert count(2, "person", "people") == "two people"
    assert count(12, "update") == "12 updates"
    assert [times(n) for n in (1, 2, 3)] == ["once", "twice", "three times"]
    assert percent(0.8) == "80 %"
    assert percent(0.004) == "under 1 %"
    assert [as_text(v) for v in (None, math.nan, "", "Network")] == [
        None,
        None,
        None,
        "Network",
    ]
