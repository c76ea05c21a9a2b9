"""Fuzzing the generic importer into a real store: refused whole, or written.

The example CRM export (``examples/crm-export.csv``) and its mapping seed the
fuzzing, as CSV, JSON lines and one JSON array. Hypothesis damages the rows,
the cells, the records and the bytes, or sends random bytes; ``stallwatch
import mapped`` into a SQLite store must write the file, or refuse it with an
:class:`ImportValidationError` naming the file and what was expected, and
leave the ``events`` and ``imports`` tables exactly as they were.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from hypothesis import event, given, settings
from hypothesis import strategies as st

from features.importers.problems import ImportValidationError
from features.store import create_schema, make_engine
from stallwatch.importing import import_mapped
from tests.conftest import REPO
from tests.features.import_checks import fresh_store, import_or_refuse, write_file
from tests.features.log_mutations import (
    mutated_json_arrays,
    mutated_json_lines,
    mutated_logs,
    read_seed,
    records,
    renumbered,
    shaped_times,
    with_cells,
)
from tests.yaml_documents import FUZZ_SETTINGS

EXAMPLE = REPO / "examples" / "crm-export.csv"
MAPPING = REPO / "examples" / "crm-export.mapping.yaml"
SEED = read_seed(EXAMPLE, 8)
FORMATS = ("csv", "jsonl", "json")
#: The example's columns that the mapping maps through a value map, or needs.
MAPPED_COLUMNS = ("EventId", "Ticket", "Action", "Role", "State", "Priority", "Via")


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Path]]:
    """A store holding the example export, and its mapping in each format."""
    root = tmp_path_factory.mktemp("mapped-fuzz")
    spec = yaml.safe_load(MAPPING.read_text(encoding="utf-8"))
    mappings = {}
    for name in FORMATS:
        mappings[name] = root / f"{name}.mapping.yaml"
        mappings[name].write_text(yaml.safe_dump({**spec, "format": name}))
    engine = make_engine(f"sqlite:///{root / 'baseline.db'}")
    create_schema(engine)
    import_mapped(engine, EXAMPLE, mappings["csv"])
    engine.dispose()
    return root / "baseline.db", mappings


def _import_fresh(
    setup: tuple[Path, dict[str, Path]], name: str, content: bytes
) -> str:
    # Each example starts from the same store, so before and after stay small.
    baseline, mappings = setup
    with fresh_store(baseline) as (engine, root):
        path = write_file(root, f"fuzz.{name}", content, "plain")
        return import_or_refuse(
            engine, path, lambda: import_mapped(engine, path, mappings[name])
        )


def test_mapped_example_imports_in_every_format(
    setup: tuple[Path, dict[str, Path]],
) -> None:
    items = records(SEED)
    contents = {
        "csv": EXAMPLE.read_bytes(),
        "jsonl": "\n".join(json.dumps(r) for r in items).encode(),
        "json": json.dumps(items).encode(),
    }

    for name, content in contents.items():
        assert _import_fresh(setup, name, content) == "imported", name


@settings(FUZZ_SETTINGS, max_examples=45)
@given(content=mutated_logs(SEED))
def test_mapped_csv_mutated_rows_import_or_refuse_whole(
    setup: tuple[Path, dict[str, Path]], content: bytes
) -> None:
    event(_import_fresh(setup, "csv", content))


@settings(FUZZ_SETTINGS, max_examples=40)
@given(
    content=with_cells(
        SEED,
        {
            "When": shaped_times("{d:02}.{m:02}.{Y:04} {H:02}:{M:02}"),
            **{
                column: renumbered(SEED.rows[0][SEED.header.index(column)])
                for column in MAPPED_COLUMNS
            },
        },
    )
)
def test_mapped_csv_bad_cells_import_or_refuse_whole(
    setup: tuple[Path, dict[str, Path]], content: bytes
) -> None:
    event(_import_fresh(setup, "csv", content))


@settings(FUZZ_SETTINGS, max_examples=40)
@given(content=mutated_json_lines(SEED))
def test_mapped_json_lines_mutated_import_or_refuse_whole(
    setup: tuple[Path, dict[str, Path]], content: bytes
) -> None:
    event(_import_fresh(setup, "jsonl", content))


@settings(FUZZ_SETTINGS, max_examples=30)
@given(content=mutated_json_arrays(SEED))
def test_mapped_json_array_mutated_import_or_refuse_whole(
    setup: tuple[Path, dict[str, Path]], content: bytes
) -> None:
    event(_import_fresh(setup, "json", content))


@settings(FUZZ_SETTINGS, max_examples=20)
@given(name=st.sampled_from(FORMATS), content=st.binary(max_size=400))
def test_mapped_random_bytes_refused_whole(
    setup: tuple[Path, dict[str, Path]], name: str, content: bytes
) -> None:
    event(_import_fresh(setup, name, content))


#: The example's first event as one JSON object.
FIRST = json.dumps(records(SEED)[0]).encode()


def _example_with(row: int, column: str, value: str) -> bytes:
    # The example export with one cell replaced, as CSV bytes.
    rows = [dict(r) for r in records(SEED)]
    rows[row][column] = value
    lines = [",".join(SEED.header), *(",".join(r.values()) for r in rows)]
    return ("\n".join(lines) + "\n").encode()


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        # IntegrityError: NOT NULL constraint failed: events.kind
        ("csv", _example_with(0, "Action", ""), r"column 'Action'.*an event kind"),
        ("json", b'[{"Ticket": "T-1", "When": "03.03.2025 09:12"}]', "event kind"),
        # IntegrityError: NOT NULL constraint failed: events.event_id
        ("csv", _example_with(1, "EventId", ""), r"column 'EventId'.*an event id"),
        # OutOfBoundsDatetime: year 9999 as nanoseconds
        ("csv", _example_with(0, "When", "03.03.9999 09:12"), "a year from 1970"),
        ("csv", _example_with(0, "When", "03.03.0001 09:12"), "a year from 1970"),
        # DataError on PostgreSQL: value too long for character varying(120)
        ("csv", _example_with(0, "Ticket", "T" * 121), r"line 2, column 'Ticket'"),
        ("csv", _example_with(0, "Team", "T" * 201), "at most 200 characters"),
        # UnicodeDecodeError from the JSON-lines reader
        ("jsonl", FIRST + b"\n\xff\n", r"line 2.*UTF-8 text"),
        # RecursionError from json.loads
        ("jsonl", b"[" * 5_000 + b"\n", r"line 1.*nested less deeply"),
        ("json", b"[" * 5_000, "nested less deeply"),
        # TypeError from DataFrame(): an item that is not an object
        ("json", b"[" + FIRST + b", 5]", r"line 2.*an event object"),
    ],
)
def test_mapped_regression_refused_naming_the_place(
    setup: tuple[Path, dict[str, Path]], name: str, content: bytes, expected: str
) -> None:
    baseline, mappings = setup
    assert _import_fresh(setup, name, content).startswith("refused")
    with fresh_store(baseline) as (engine, root):
        path = write_file(root, f"bad.{name}", content, "plain")
        with pytest.raises(ImportValidationError, match=expected):
            import_mapped(engine, path, mappings[name])
