"""Business calendars: hand-computed business minutes, additions and validation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from features.sla.calendar import round_the_clock, to_epoch
from features.sla.calendar_loader import load_calendar, load_calendar_file
from features.sla.validation import SlaConfigError

WORKDAYS = ("mon", "tue", "wed", "thu", "fri")


def office(**extra: object) -> dict[str, object]:
    """Return a Berlin 09:00-17:00 weekday calendar document."""
    doc: dict[str, object] = {
        "timezone": "Europe/Berlin",
        "week": {day: [["09:00", "17:00"]] for day in WORKDAYS},
    }
    doc.update(extra)
    return doc


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def test_business_minutes_lunch_break_not_counted() -> None:
    cal = load_calendar(
        {
            "timezone": "Europe/Berlin",
            "week": {d: [["09:00", "12:00"], ["13:00", "17:00"]] for d in WORKDAYS},
        }
    )

    minutes = cal.business_minutes_between(
        at("2025-04-01T11:00:00+02:00"), at("2025-04-01T14:00:00+02:00")
    )
    due = cal.add_business_minutes(at("2025-04-01T11:30:00+02:00"), 90)

    assert minutes == 120
    assert due == at("2025-04-01T14:00:00+02:00")


def test_open_intervals_lunch_break_split_and_clipped() -> None:
    cal = load_calendar(
        {
            "timezone": "Europe/Berlin",
            "week": {d: [["09:00", "12:00"], ["13:00", "17:00"]] for d in WORKDAYS},
        }
    )

    spans = cal.open_intervals(
        at("2025-04-01T11:00:00+02:00"), at("2025-04-01T14:00:00+02:00")
    )

    assert spans == [
        (at("2025-04-01T09:00:00+00:00"), at("2025-04-01T10:00:00+00:00")),
        (at("2025-04-01T11:00:00+00:00"), at("2025-04-01T12:00:00+00:00")),
    ]


def test_business_minutes_weekend_skipped() -> None:
    cal = load_calendar(office())

    minutes = cal.business_minutes_between(
        at("2025-04-04T16:00:00+02:00"), at("2025-04-07T10:00:00+02:00")
    )

    assert minutes == 120


def test_business_minutes_listed_holiday_skipped() -> None:
    cal = load_calendar(office(holidays=["2025-04-18", "2025-04-21"]))

    minutes = cal.business_minutes_between(
        at("2025-04-17T16:00:00+02:00"), at("2025-04-22T10:00:00+02:00")
    )

    assert minutes == 120


def test_business_minutes_public_holiday_by_subdivision() -> None:
    bavaria = load_calendar(office(public_holidays={"country": "DE", "subdiv": "BY"}))
    berlin = load_calendar(office(public_holidays={"country": "DE", "subdiv": "BE"}))
    start, end = at("2025-01-06T00:00:00+01:00"), at("2025-01-07T00:00:00+01:00")

    # Epiphany (6 January) is a public holiday in Bavaria only.
    assert bavaria.business_minutes_between(start, end) == 0
    assert berlin.business_minutes_between(start, end) == 480


@pytest.mark.parametrize(
    ("day_start", "day_end", "expected"),
    [
        ("2025-03-30T00:00:00+01:00", "2025-03-31T00:00:00+02:00", 1380),
        ("2025-10-26T00:00:00+02:00", "2025-10-27T00:00:00+01:00", 1500),
        ("2025-06-01T00:00:00+02:00", "2025-06-02T00:00:00+02:00", 1440),
    ],
)
def test_round_the_clock_berlin_dst_days_have_real_length(
    day_start: str, day_end: str, expected: int
) -> None:
    cal = load_calendar({"timezone": "Europe/Berlin", "week": "24/7"})

    assert cal.business_minutes_between(at(day_start), at(day_end)) == expected


def test_add_minutes_round_the_clock_over_spring_forward() -> None:
    cal = round_the_clock("Europe/Berlin")

    due = cal.add_business_minutes(at("2025-03-29T23:30:00+01:00"), 240)

    assert due == at("2025-03-30T04:30:00+02:00")


def test_end_24_00_joins_midnight_without_gap() -> None:
    cal = load_calendar(
        {
            "timezone": "Europe/Berlin",
            "week": {"sat": [["20:00", "24:00"]], "sun": [["00:00", "02:00"]]},
        }
    )

    minutes = cal.business_minutes_between(
        at("2025-04-05T23:00:00+02:00"), at("2025-04-06T01:00:00+02:00")
    )
    due = cal.add_business_minutes(at("2025-04-05T23:30:00+02:00"), 60)

    assert minutes == 120
    assert due == at("2025-04-06T00:30:00+02:00")


def test_add_minutes_landing_on_close_returns_close() -> None:
    cal = load_calendar(office())

    due = cal.add_business_minutes(at("2025-04-01T16:00:00+02:00"), 60)

    assert due == at("2025-04-01T17:00:00+02:00")


def test_add_zero_minutes_outside_hours_returns_start() -> None:
    cal = load_calendar(office())
    start = at("2025-04-05T12:00:00+02:00")

    assert cal.add_business_minutes(start, 0) == start


def test_span_in_spring_gap_starts_after_the_gap() -> None:
    # 02:00 does not exist on 2025-03-30 in Berlin; the span opens at 03:00 CEST.
    cal = load_calendar(
        {"timezone": "Europe/Berlin", "week": {"sun": [["02:00", "04:00"]]}}
    )

    minutes = cal.business_minutes_between(
        at("2025-03-30T00:00:00+01:00"), at("2025-03-30T12:00:00+02:00")
    )

    assert minutes == 60


def test_vectorised_operations_match_scalar(rng: np.random.Generator) -> None:
    cal = load_calendar(office(holidays=["2025-04-18"]))
    base = to_epoch(at("2025-03-01T00:00:00+01:00"))
    starts = base + rng.integers(0, 90 * 86400, size=200)
    ends = starts + rng.integers(0, 20 * 86400, size=200)
    adds = rng.integers(0, 5000 * 60, size=200)

    between = cal.business_seconds_between_epoch(starts, ends)
    dues = cal.add_business_seconds_epoch(starts, adds)

    for s, e, a, b, d in zip(starts, ends, adds, between, dues, strict=True):
        s_dt = datetime.fromtimestamp(int(s), UTC)
        e_dt = datetime.fromtimestamp(int(e), UTC)
        assert cal.business_minutes_between(s_dt, e_dt) == b / 60
        assert cal.add_business_minutes(s_dt, a / 60) == datetime.fromtimestamp(
            int(d), UTC
        )


def test_cumulative_seconds_stable_when_range_grows() -> None:
    cal = load_calendar(office())
    probe = np.array([to_epoch(at("2025-04-01T12:00:00+02:00"))])
    before = cal.cumulative_seconds(probe)

    # Reaching far into the past and future rebuilds the arrays.
    cal.business_minutes_between(
        at("2019-01-01T00:00:00+00:00"), at("2031-01-01T00:00:00+00:00")
    )

    assert cal.cumulative_seconds(probe)[0] == before[0]


def test_add_minutes_far_ahead_extends_range() -> None:
    cal = round_the_clock("UTC")
    start = at("2025-01-01T00:00:00+00:00")

    due = cal.add_business_minutes(start, 3 * 365 * 1440)

    assert due == start + timedelta(days=3 * 365)


def test_calendar_version_explicit_or_content_hash() -> None:
    explicit = load_calendar(office(version="2025-04"))
    hashed = load_calendar(office())
    again = load_calendar(office())
    other = load_calendar(office(holidays=["2025-12-24"]))

    assert explicit.version == "2025-04"
    assert hashed.version.startswith("sha256:")
    assert hashed.version == again.version
    assert hashed.version != other.version


def test_load_calendar_file_reads_yaml(tmp_path: Path) -> None:
    path = tmp_path / "desk.yaml"
    path.write_text(
        "name: munich-desk\n"
        "version: '7'\n"
        "timezone: Europe/Berlin\n"
        "week:\n"
        "  mon: [['09:00', '12:00'], ['13:00', '17:00']]\n"
        "holidays: [2025-04-21]\n"
        "public_holidays: {country: DE, subdiv: BY}\n",
        encoding="utf-8",
    )

    cal = load_calendar_file(path)

    assert (cal.name, cal.version, cal.timezone) == (
        "munich-desk",
        "7",
        "Europe/Berlin",
    )
    assert (
        cal.business_minutes_between(
            at("2025-04-14T00:00:00+02:00"), at("2025-04-22T00:00:00+02:00")
        )
        == 420
    )


def test_load_calendar_invalid_fields_all_named() -> None:
    bad = {
        "timezone": "Europe/Munich",
        "week": {
            "mon": [["09:00", "25:00"]],
            "tue": [["09:00", 1020]],
            "wed": [["09:00", "13:00"], ["12:00", "17:00"]],
            "thu": [["17:00", "09:00"]],
            "someday": [],
        },
        "holidays": ["2025-02-30"],
    }

    with pytest.raises(
        SlaConfigError, match=r"timezone: expected an IANA zone"
    ) as info:
        load_calendar(bad)

    fields = {issue.field for issue in info.value.issues}
    assert fields == {
        "timezone",
        "week.mon[0][1]",
        "week.tue[0][1]",
        "week.wed",
        "week.thu[0]",
        "week.someday",
        "holidays[0]",
    }


def test_load_calendar_quoted_time_hint_for_yaml_number() -> None:
    with pytest.raises(SlaConfigError, match=r"week\.fri\[0\]\[1\]: expected a quoted"):
        load_calendar(office(week={"fri": [["09:00", 1020]]}))


def test_load_calendar_unknown_country_rejected() -> None:
    with pytest.raises(SlaConfigError, match=r"public_holidays: expected a country"):
        load_calendar(office(public_holidays={"country": "XX"}))


def test_load_calendar_closed_week_rejected() -> None:
    with pytest.raises(SlaConfigError, match=r"week: expected at least one opening"):
        load_calendar({"timezone": "UTC", "week": {"mon": []}})


def test_load_calendar_file_not_a_mapping(tmp_path: Path) -> None:
    path = tmp_path / "list.yaml"
    path.write_text("- 1\n- 2\n", encoding="utf-8")

    with pytest.raises(SlaConfigError, match=r"(?s)list\.yaml.*a mapping at the top"):
        load_calendar_file(path)
