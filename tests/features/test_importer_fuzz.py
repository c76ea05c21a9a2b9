"""Fuzzing the four log importers into a real store: refused whole, or written.

Each source starts from the first rows of its real log; hypothesis drops,
repeats and swaps columns and rows, replaces cells with awkward values and
damages the bytes (separators, line ends, byte-order marks, invalid UTF-8,
NUL, truncation, gzip), or sends random bytes. ``stallwatch import`` into a
SQLite store must then either write the file, or refuse it with an
:class:`ImportValidationError` whose problems name the file and what was
expected, leaving the ``events`` and ``imports`` tables exactly as they were.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from features.importers.problems import ImportValidationError
from features.store import create_schema, make_engine
from stallwatch.importing import import_builtin
from tests.conftest import REPO, UCI_FILE
from tests.features.import_checks import fresh_store, import_or_refuse, write_file
from tests.features.log_mutations import (
    SeedLog,
    mutated_logs,
    random_files,
    read_seed,
    renumbered,
    shaped_times,
    with_cells,
    write_table,
)
from tests.yaml_documents import FUZZ_SETTINGS

SHARED = REPO.parent / "shared" / "data"
#: Each source's real log and how many of its first rows seed the fuzzing.
SEEDS: dict[str, SeedLog] = {
    "uci": read_seed(UCI_FILE, 8),
    "helpdesk": read_seed(SHARED / "helpdesk" / "helpdesk_full_4tu_2017.csv", 8),
    "bpi2013": read_seed(SHARED / "bpi2013" / "bpic2013_incidents.csv.gz", 8),
    "boston311": read_seed(
        SHARED / "boston311" / "boston311_sample_2015_2024.csv.gz", 6
    ),
}
#: The columns each importer checks against a closed set or a number.
TYPED_COLUMNS: dict[str, tuple[str, ...]] = {
    "uci": (
        "number",
        "incident_state",
        "sys_mod_count",
        "made_sla",
        "contact_type",
        "priority",
    ),
    "helpdesk": ("Case ID", "Activity", "seriousness_2"),
    "bpi2013": ("SR Number", "Status", "Sub Status", "SR Latest Impact"),
    "boston311": ("CASE_ENQUIRY_ID", "Source"),
}
#: The time columns of each log, and how the log writes them.
TIME_LAYOUTS: dict[str, dict[str, str]] = {
    "uci": {
        "opened_at": "{d}/{m}/{Y:04} {H:02}:{M:02}",
        "sys_updated_at": "{d}/{m}/{Y:04} {H:02}:{M:02}",
    },
    "helpdesk": {
        "Complete Timestamp": "{Y:04}/{m:02}/{d:02} {H:02}:{M:02}:{S:02}.000",
    },
    "bpi2013": {
        "Change Date+Time": "{Y:04}-{m:02}-{d:02}T{H:02}:{M:02}:{S:02}{z}",
    },
    "boston311": {
        column: "{Y:04}-{m:02}-{d:02} {H:02}:{M:02}:{S:02}"
        for column in ("OPEN_DT", "TARGET_DT", "CLOSED_DT")
    },
}


@pytest.fixture(scope="module")
def baseline(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite store holding the seed rows of all four logs, to copy per example."""
    root = tmp_path_factory.mktemp("importer-fuzz")
    engine = make_engine(f"sqlite:///{root / 'baseline.db'}")
    create_schema(engine)
    for source, seed in SEEDS.items():
        path = write_file(root, "seed.csv", _seed_bytes(seed), "plain")
        import_builtin(engine, source, path, source_timezone=None)
    engine.dispose()
    return root / "baseline.db"


def _seed_bytes(seed: SeedLog) -> bytes:
    rows = [list(r) for r in seed.rows]
    return write_table(list(seed.header), rows, line_end=seed.line_end, bom=seed.bom)


def _import_fresh(baseline: Path, source: str, content: bytes, container: str) -> str:
    # Each example starts from the same store, so before and after stay small.
    with fresh_store(baseline) as (engine, root):
        path = write_file(root, "fuzz.csv", content, container)
        return import_or_refuse(
            engine,
            path,
            lambda: import_builtin(engine, source, path, source_timezone=None),
        )


@pytest.mark.parametrize("source", sorted(SEEDS))
def test_importer_seed_rows_import_as_they_are(baseline: Path, source: str) -> None:
    content = _seed_bytes(SEEDS[source])

    assert _import_fresh(baseline, source, content, "plain") == "imported"
    assert _import_fresh(baseline, source, content, "gzip") == "imported"


containers = st.sampled_from(["plain", "plain", "plain", "gzip", "cut_gzip"])


@pytest.mark.parametrize("source", sorted(SEEDS))
@settings(FUZZ_SETTINGS, max_examples=40)
@given(data=st.data(), container=containers)
def test_importer_mutated_rows_import_or_refuse_whole(
    baseline: Path, source: str, data: st.DataObject, container: str
) -> None:
    content = data.draw(mutated_logs(SEEDS[source]), label="content")

    event(_import_fresh(baseline, source, content, container))


@pytest.mark.parametrize("source", sorted(SEEDS))
@settings(FUZZ_SETTINGS, max_examples=25)
@given(data=st.data())
def test_importer_typed_cells_import_or_refuse_whole(
    baseline: Path, source: str, data: st.DataObject
) -> None:
    seed = SEEDS[source]
    values = {
        column: renumbered(seed.rows[0][seed.header.index(column)])
        for column in TYPED_COLUMNS[source]
    }
    content = data.draw(with_cells(seed, values), label="content")

    event(_import_fresh(baseline, source, content, "plain"))


@pytest.mark.parametrize("source", sorted(SEEDS))
@settings(FUZZ_SETTINGS, max_examples=40)
@given(data=st.data())
def test_importer_any_time_imports_or_refuses_whole(
    baseline: Path, source: str, data: st.DataObject
) -> None:
    values = {c: shaped_times(f) for c, f in TIME_LAYOUTS[source].items()}
    content = data.draw(with_cells(SEEDS[source], values, most=2), label="content")

    event(_import_fresh(baseline, source, content, "plain"))


@pytest.mark.parametrize("source", sorted(SEEDS))
@settings(FUZZ_SETTINGS, max_examples=15)
@given(data=st.data())
def test_importer_random_bytes_refused_whole(
    baseline: Path, source: str, data: st.DataObject
) -> None:
    content = data.draw(random_files(SEEDS[source]), label="content")

    event(_import_fresh(baseline, source, content, "plain"))


@pytest.mark.parametrize(
    ("source", "column", "value", "expected"),
    [
        # IntCastingNaNError: to_numeric read "1e400" as infinity
        ("uci", "sys_mod_count", "1e400", "a whole number"),
        # written as 0: "1.5" was truncated to a count
        ("uci", "sys_mod_count", "1.5", "a whole number"),
        # OutOfBoundsDatetime while conforming the events
        ("uci", "sys_updated_at", "31/12/9999 23:59", "in the years 1970-2199"),
        ("helpdesk", "Complete Timestamp", "9999/12/31 23:59:59.000", "1970-2199"),
        ("helpdesk", "Complete Timestamp", "1000/12/31 23:59:59.000", "1970-2199"),
        ("bpi2013", "Change Date+Time", "5000-01-01T00:00:00+01:00", "1970-2199"),
        # NotImplementedError: localizing a time past the year 9999
        ("boston311", "TARGET_DT", "9999-12-31 23:59:59", "1970-2199"),
        ("boston311", "CLOSED_DT", "9999-12-31 23:59:59", "1970-2199"),
        # stored on SQLite, refused by PostgreSQL's text type
        ("uci", "number", "INC\x000045", "text without NUL"),
        ("helpdesk", "Resource", "Value\x001", "text without NUL"),
    ],
)
def test_importer_regression_bad_cell_refused_with_store_unchanged(
    baseline: Path, source: str, column: str, value: str, expected: str
) -> None:
    seed = SEEDS[source]
    rows = [list(r) for r in seed.rows]
    rows[1][seed.header.index(column)] = value
    content = write_table(list(seed.header), rows, line_end=seed.line_end, bom=seed.bom)

    assert _import_fresh(baseline, source, content, "plain") == f"refused: {column}"
    with fresh_store(baseline) as (engine, root):
        path = write_file(root, "bad.csv", content, "plain")
        with pytest.raises(ImportValidationError, match=r"line 3, column") as caught:
            import_builtin(engine, source, path, source_timezone=None)
    assert expected in caught.value.problems[0].expected


@pytest.mark.parametrize(
    ("source", "column", "field", "width"),
    [
        ("uci", "number", "ticket_id", 120),
        ("helpdesk", "Resource", "actor", 200),
        ("bpi2013", "Involved ST", "group", 200),
        ("boston311", "TYPE", "category", 200),
    ],
)
def test_importer_regression_text_too_wide_for_the_store_refused(
    baseline: Path, source: str, column: str, field: str, width: int
) -> None:
    # PostgreSQL: DataError (value too long for type character varying), after
    # the whole file had been validated; SQLite kept the long text.
    seed = SEEDS[source]
    rows = [list(r) for r in seed.rows]
    rows[0][seed.header.index(column)] = "x" * (width + 1)
    content = write_table(list(seed.header), rows, line_end=seed.line_end, bom=seed.bom)

    assert _import_fresh(baseline, source, content, "plain") == f"refused: {field}"
    with fresh_store(baseline) as (engine, root):
        path = write_file(root, "wide.csv", content, "plain")
        with pytest.raises(ImportValidationError, match=f"at most {width} characters"):
            import_builtin(engine, source, path, source_timezone=None)


@pytest.mark.parametrize("zone", ["America", "x" * 300, "../UTC", "Europe/"])
def test_importer_regression_bad_source_zone_refused(baseline: Path, zone: str) -> None:
    # IsADirectoryError ("America") and OSError (name too long) from ZoneInfo
    with fresh_store(baseline) as (engine, root):
        path = write_file(root, "seed.csv", _seed_bytes(SEEDS["uci"]), "plain")
        with pytest.raises(ImportValidationError, match=r"an IANA time zone"):
            import_builtin(engine, "uci", path, source_timezone=zone)
