"""The literature protocol on a tiny hand-made log: prefixes, and both splits."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from training.remaining_time import (
    file_order_split,
    load_reduced_log,
    prefix_rows,
    temporal_split,
)

# Case 9 comes first in the file but starts last; case 3 ends early.
LOG = """CaseID,ActivityID,CompleteTimestamp
9,1,2012-03-01 10:00:00
9,8,2012-03-02 10:00:00
9,6,2012-03-04 22:00:00
3,1,2012-01-01 08:00:00
3,6,2012-01-01 20:00:00
5,1,2012-02-01 09:00:00
5,2,2012-02-03 09:00:00
5,2,2012-02-04 09:00:00
5,6,2012-02-09 09:00:00
"""


@pytest.fixture
def log(tmp_path: Path) -> pd.DataFrame:
    path = tmp_path / "reduced.csv"
    path.write_text(LOG)
    return load_reduced_log(path)


def test_prefix_rows_every_prefix_but_the_full_trace(log: pd.DataFrame) -> None:
    rows = prefix_rows(log).set_index(["case_id", "prefix_length"])

    # 3 + 2 + 4 events give 2 + 1 + 3 prefixes.
    assert len(rows) == 6
    # Case 9 ends on 4 March 22:00: 2.5 days after its second event.
    assert rows.loc[(9, 2), "remaining_days"] == pytest.approx(2.5)
    assert rows.loc[(9, 2), "elapsed_days"] == pytest.approx(1.0)
    # Case 5 after its third event: two 2s seen, 5 days to go.
    third = rows.loc[(5, 3)]
    assert (third["count_2"], third["count_1"]) == (2, 1)
    assert third["remaining_days"] == pytest.approx(5.0)
    assert third["days_since_previous"] == pytest.approx(1.0)
    assert third["previous_activity"] == 2


def test_file_order_split_follows_the_file_not_time(log: pd.DataFrame) -> None:
    train, test = file_order_split(log, train_share=2 / 3)

    # The file's order is 9, 3, 5: the latest-starting case trains.
    assert train == [9, 3]
    assert test == [5]


def test_temporal_split_tests_later_cases_and_trains_on_finished(
    log: pd.DataFrame,
) -> None:
    split = temporal_split(log, train_share=2 / 3, gap=pd.Timedelta(days=30))

    # Starts: 3 (1 Jan), 5 (1 Feb), 9 (1 Mar); the cut-off is the start of the
    # case at 2/3, case 9. Known at 31 Jan 10:00: only case 3 had finished.
    assert split.cutoff == pd.Timestamp("2012-03-01 10:00:00")
    assert split.known_at == pd.Timestamp("2012-01-31 10:00:00")
    assert split.test == [9]
    assert split.train == [3]


def test_load_reduced_log_names_the_missing_column(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("CaseID,Activity,CompleteTimestamp\n1,1,2012-01-01 00:00:00\n")

    with pytest.raises(ValueError, match=r"missing columns \['ActivityID'\]"):
        load_reduced_log(path)
