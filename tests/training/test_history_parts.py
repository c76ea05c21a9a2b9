"""A large log built part by part in one process equals the log built at once."""

from __future__ import annotations

import pandas as pd
import pytest

from features.partition import ticket_partition
from features.sla.desk import SlaDesk, load_desk_file
from tests.conftest import REPO
from training.dataset import build_history_snapshots, build_snapshots

KEY = ["ticket_id", "at"]


def _sorted(rows: pd.DataFrame) -> pd.DataFrame:
    return rows.sort_values(KEY, kind="stable").reset_index(drop=True)


@pytest.fixture(scope="module")
def desk() -> SlaDesk:
    return load_desk_file(REPO / "features" / "sla" / "desks" / "uci.yaml")


@pytest.fixture(scope="module")
def whole(uci_events: pd.DataFrame, desk: SlaDesk) -> tuple[pd.DataFrame, pd.DataFrame]:
    return build_snapshots(uci_events, desk=desk, label="policy")


@pytest.mark.parametrize("workers", [1, 2])
def test_parts_give_the_rows_and_outcomes_of_the_whole_log(
    uci_events: pd.DataFrame,
    desk: SlaDesk,
    whole: tuple[pd.DataFrame, pd.DataFrame],
    workers: int,
) -> None:
    whole_rows, whole_outcomes = whole

    part_events = len(uci_events) // 5 + 1
    parts = ticket_partition(uci_events["ticket_id"], 5)
    assert len(set(parts.tolist())) == 5  # the log really is split five ways
    rows, outcomes = build_history_snapshots(
        uci_events,
        desk=desk,
        label="policy",
        part_events=part_events,
        workers=workers,
    )

    assert len(rows) == len(whole_rows) > 30_000
    # Rows come part after part, so not in the whole log's ticket order ...
    assert not rows["ticket_id"].is_monotonic_increasing
    # ... but every row, desk-wide group load included, is the same.
    pd.testing.assert_frame_equal(_sorted(rows), _sorted(whole_rows), check_exact=True)
    pd.testing.assert_frame_equal(outcomes, whole_outcomes, check_exact=True)


def test_a_log_within_one_part_is_built_at_once(uci_events: pd.DataFrame) -> None:
    some = uci_events[
        uci_events["ticket_id"].isin(uci_events["ticket_id"].unique()[:300])
    ]
    some = some.reset_index(drop=True)
    rows, outcomes = build_history_snapshots(some, part_events=len(some))
    expected_rows, expected_outcomes = build_snapshots(some)
    pd.testing.assert_frame_equal(rows, expected_rows, check_exact=True)
    pd.testing.assert_frame_equal(outcomes, expected_outcomes, check_exact=True)


def test_part_size_must_be_positive(uci_events: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match="part_events must be at least 1, got 0"):
        build_history_snapshots(uci_events, part_events=0)
