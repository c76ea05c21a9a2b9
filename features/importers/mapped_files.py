"""Reading a CRM's export a chunk at a time: CSV, JSON lines or one JSON array.

Every value is read as text (the mapping converts it later); bytes that do
not decode and lines that are not JSON objects become problems with their
line numbers, so one pass can report them all.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pandas as pd

from features.importers.mapping import Mapping
from features.importers.problems import ImportProblem, ImportValidationError

CHUNK_ROWS = 50_000


def bad_bytes(path: Path, encoding: str) -> tuple[int, int] | None:
    """Return line and byte column of the first undecodable line, if one is."""
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            try:
                raw.decode(encoding)
            except UnicodeError as exc:
                start = exc.start if isinstance(exc, UnicodeDecodeError) else 0
                return number, start + 1
    return None  # e.g. UTF-16 without a byte-order mark: no line is at fault


def file_chunks(
    path: Path, mapping: Mapping, problems: list[ImportProblem] | None = None
) -> Iterator[tuple[int, pd.DataFrame]]:
    """Yield (first line number, rows as strings) chunks of the source file.

    Lines of a JSON-lines file that are not JSON objects are added to
    ``problems`` (and skipped) instead of ending the read.
    """
    file = str(path)
    if mapping.format == "csv":
        encoding = mapping.csv.encoding
        encoding = "utf-8-sig" if encoding.lower() in ("utf-8", "utf8") else encoding
        separator = mapping.csv.separator
        # pandas' C parser splits UTF-8 on one byte; a wider separator (or a
        # lone surrogate) needs its Python parser.
        wide = len(separator.encode("utf-8", errors="surrogatepass")) > 1
        try:
            with pd.read_csv(
                path,
                sep=separator,
                dtype=str,
                keep_default_na=False,
                encoding=encoding,
                chunksize=CHUNK_ROWS,
                engine="python" if wide else "c",
            ) as reader:  # closes the file when a chunk is refused
                line = 2
                for chunk in reader:
                    yield line, chunk
                    line += len(chunk)
        except UnicodeError as exc:  # UTF-16 without a BOM is no DecodeError
            found = bad_bytes(path, encoding)
            reason = exc.reason if isinstance(exc, UnicodeDecodeError) else str(exc)
            where = f"byte {found[1]} of the line: " if found else ""
            raise ImportValidationError(
                [
                    ImportProblem(
                        file,
                        found[0] if found else None,
                        None,
                        None,
                        f"text in {mapping.csv.encoding}, as the mapping declares "
                        f"({where}{reason})",
                    )
                ]
            ) from exc
        except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
            reason = " ".join(str(exc).split())
            raise ImportValidationError(
                [ImportProblem(file, None, None, None, f"CSV rows ({reason})")]
            ) from exc
        return

    if mapping.format == "jsonl":
        batch: list[dict[str, object]] = []
        numbers: list[int] = []
        with path.open("rb") as handle:
            for number, raw in enumerate(handle, start=1):
                item, why = json_line(raw, first=number == 1)
                if not isinstance(item, dict):
                    if problems is not None and why is not None:
                        shown = raw.decode("utf-8", "replace").strip()[:80]
                        problems.append(ImportProblem(file, number, None, shown, why))
                    continue
                batch.append(item)
                numbers.append(number)
                if len(batch) >= CHUNK_ROWS:
                    yield numbers[0], lines_frame(batch, numbers)
                    batch, numbers = [], []
        if batch:
            yield numbers[0], lines_frame(batch, numbers)
        return

    try:
        items = json.loads(path.read_text(encoding="utf-8-sig"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ImportValidationError(
            [ImportProblem(file, None, None, None, f"a JSON array ({exc})")]
        ) from exc
    except RecursionError as exc:
        raise ImportValidationError(
            [ImportProblem(file, None, None, None, "a JSON array nested less deeply")]
        ) from exc
    if not isinstance(items, list):
        raise ImportValidationError(
            [ImportProblem(file, None, None, None, "a JSON array of event objects")]
        )
    # Items are numbered from 1, as the lines of a JSON-lines file are.
    objects = [(n, item) for n, item in enumerate(items, 1) if isinstance(item, dict)]
    if problems is not None:
        problems += [
            ImportProblem(file, n, None, str(item)[:80], "an event object {...}")
            for n, item in enumerate(items, 1)
            if not isinstance(item, dict)
        ]
    if objects:
        yield 1, lines_frame([o for _, o in objects], [n for n, _ in objects])


def json_line(raw: bytes, *, first: bool) -> tuple[object, str | None]:
    """Return one JSON-lines line's value, or None and why it is not an object.

    A blank line is skipped without a reason; the first line may start with a
    byte-order mark.
    """
    try:
        text = raw.decode("utf-8-sig" if first else "utf-8")
    except UnicodeDecodeError as exc:
        return None, f"a JSON object in UTF-8 text (byte {exc.start + 1}: {exc.reason})"
    if not text.strip():
        return None, None
    try:
        item = json.loads(text)
    except json.JSONDecodeError as exc:
        return None, f"a JSON object ({exc.msg})"
    except RecursionError:
        return None, "a JSON object nested less deeply"
    return item, "a JSON object"


def lines_frame(items: list[dict[str, object]], numbers: list[int]) -> pd.DataFrame:
    """Rows of a JSON-lines chunk, as strings, indexed by their line numbers."""
    frame = pd.DataFrame(items).astype("object")
    frame = frame.where(frame.isna(), frame.astype(str))
    frame.index = pd.Index(numbers)
    return frame
