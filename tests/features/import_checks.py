"""The fuzzed importers' property: a file is written whole, or refused cleanly.

A refusal must be an :class:`ImportValidationError` whose problems each name
the file and what was expected, and must leave the store's ``events`` and
``imports`` tables exactly as they were; a success adds one ``imports`` row
and exactly the events it reports as written.
"""

from __future__ import annotations

import gzip
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from features.importers.problems import ImportValidationError
from features.store import events_table, imports_table, make_engine
from stallwatch.importing import ImportSummary

Snapshot = tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]


def snapshot(engine: Engine) -> Snapshot:
    """Every row of the two tables an import writes, in a stable order."""
    with engine.connect() as conn:
        events = conn.execute(
            sa.select(events_table).order_by(events_table.c.event_id)
        ).all()
        imports = conn.execute(
            sa.select(imports_table).order_by(imports_table.c.id)
        ).all()
    return [tuple(r) for r in events], [tuple(r) for r in imports]


@contextmanager
def fresh_store(baseline: Path) -> Iterator[tuple[Engine, Path]]:
    """A copy of the baseline SQLite store, and the folder to write files in.

    Each example starts from the same small store, so comparing it before and
    after stays cheap however many examples were imported before.
    """
    root = baseline.parent
    shutil.copyfile(baseline, root / "store.db")
    engine = make_engine(f"sqlite:///{root / 'store.db'}")
    try:
        yield engine, root
    finally:
        engine.dispose()


def write_file(root: Path, name: str, content: bytes, container: str) -> Path:
    """Write ``content`` plain, gzip-compressed, or as a gzip file cut in half."""
    if container == "plain":
        path = root / name
        path.write_bytes(content)
        return path
    path = root / f"{name}.gz"
    packed = gzip.compress(content, mtime=0)
    path.write_bytes(packed if container == "gzip" else packed[: len(packed) // 2])
    return path


def import_or_refuse(
    engine: Engine, path: Path, run: Callable[[], ImportSummary]
) -> str:
    """Run one import of ``path``; check it was written whole or refused cleanly.

    Returns
    -------
    str
        ``"imported"``, or ``"refused: <column>"`` naming the first problem's
        column (``file`` for a problem with the whole file), for statistics.
    """
    before = snapshot(engine)
    try:
        summary = run()
    except ImportValidationError as exc:
        assert snapshot(engine) == before, "a refused import changed the store"
        assert exc.problems
        assert str(path) in str(exc) and "expected" in str(exc)
        for problem in exc.problems:
            assert problem.file == str(path)
            assert problem.expected.strip(), problem
            assert problem.line is None or problem.line >= 1, problem
        return f"refused: {exc.problems[0].column or 'file'}"
    events, imports = snapshot(engine)
    assert len(imports) == len(before[1]) + 1
    assert len(events) - len(before[0]) == summary.written
    assert summary.rows >= 1 and summary.tickets >= 1
    return "imported"
