"""Hypothesis strategies for source files: small real logs, damaged at random.

A seed is the header and first rows of a real log. The strategies change its
table (columns dropped, repeated, swapped or renamed; rows dropped, repeated,
cut short; cells replaced by awkward values) and then its bytes (separators,
line ends, byte-order marks, invalid UTF-8, NUL, truncation), or write the
records as JSON lines or a JSON array and damage those.
"""

from __future__ import annotations

import csv
import gzip
import io
import itertools
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

#: Cell values that have tripped importers: numbers, dates, marks, bytes.
AWKWARD_CELLS = [
    "",
    "?",
    " ",
    "0",
    "-1",
    "1.5",
    "1e400",
    "-1e400",
    "9" * 30,
    "NaN",
    "inf",
    "0x1F",
    "true",
    "-100",
    "31/02/2016 10:00",
    "29/2/2015 01:23",
    "1/1/0001 00:00",
    "31/12/9999 23:59",
    "1/1/1677 00:00",
    "12/4/2262 00:00",
    "2016-13-45 00:00:00",
    "9999-12-31 23:59:59",
    "0001-01-01 00:00:00",
    "1677-09-21 00:00:00",
    "2262-04-12 00:00:00",
    "1969-12-31 23:59:59",
    "2012/10/09 14:50:17.000",
    "9999/12/31 23:59:59.000",
    "2010-03-31T15:59:42+01:00",
    "2010-03-31T15:59:42+25:00",
    "9999-12-31T23:59:59-12:00",
    "0001-01-01T00:00:00+14:00",
    "2025-03-30T02:30:00",
    "03.03.2025 09:12",
    "31.02.2025 10:05",
    "99.99.9999 99:99",
    "\x00",
    "a\x00b",
    '"',
    '""',
    '"x',
    "\ufeff",
    "x" * 300,
    "\n",
    "\r\n",
    ",",
    ";",
    "\t",
    "=1+1",
    "None",
    "null",
]

#: Bytes that break decoding or splitting: invalid UTF-8, marks, NUL, quotes.
AWKWARD_BYTES = [
    b"\x00",
    b"\xff",
    b"\xfe\xff",
    b"\xc3",
    b"\xc3\x28",
    b"\xed\xa0\x80",
    b"\xef\xbb\xbf",
    b"\x80",
    b'"',
    b",",
    b";",
    b"\r",
    b"\n",
    b"\r\n",
    b"{",
    b"[",
]


@dataclass(frozen=True)
class SeedLog:
    """The first rows of a real source file, as a table, and how it was written."""

    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    line_end: str
    bom: bool


def read_seed(path: Path, rows: int) -> SeedLog:
    """Read the header and the first ``rows`` data rows of a CSV (plain or gzip)."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as handle:
        raw = b"".join(itertools.islice(handle, rows + 1))
    text = raw.decode("utf-8")
    table = list(csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline="")))
    return SeedLog(
        header=tuple(table[0]),
        rows=tuple(tuple(row) for row in table[1:]),
        line_end="\r\n" if "\r\n" in text else "\n",
        bom=text.startswith("\ufeff"),
    )


def _field(value: str, separator: str) -> str:
    # Quote like a spreadsheet's export: only when the value needs it.
    if any(c in value for c in (separator, '"', "\n", "\r")):
        return '"' + value.replace('"', '""') + '"'
    return value


def write_table(
    header: list[str], rows: list[list[str]], *, line_end: str, bom: bool
) -> bytes:
    """Return a table as CSV bytes, comma-separated, UTF-8."""
    lines = [",".join(_field(v, ",") for v in row) for row in [header, *rows]]
    text = line_end.join(lines) + line_end
    return ("\ufeff" if bom else "").encode() + text.encode("utf-8")


cells = st.one_of(st.sampled_from(AWKWARD_CELLS), st.text(max_size=12))


#: Numbers to put in place of one of a cell's own.
_NUMBERS = st.one_of(
    st.sampled_from([str(n) for n in (0, 1, 12, 13, 24, 29, 30, 31, 32, 59, 60, 99)]),
    st.integers(0, 10_000).map(lambda n: f"{n:04d}"),  # mostly years no log holds
    st.sampled_from(["00", "9" * 30]),
    st.integers(0, 10**6).map(str),
)


def _renumber(draw: st.DrawFn, cell: str) -> str:
    # Each number in the cell (a date's day, month, year...) may change.
    parts = re.split(r"(\d+)", cell)
    if len(parts) == 1:
        return draw(_NUMBERS)
    for k in range(1, len(parts), 2):
        if draw(st.booleans()):
            parts[k] = draw(_NUMBERS)
    return "".join(parts)


@st.composite
def renumbered(draw: st.DrawFn, cell: str) -> str:
    """``cell`` with some of its numbers changed, or an awkward value instead."""
    how = draw(st.sampled_from(["renumber", "renumber", "awkward", "text"]))
    if how == "renumber":
        return _renumber(draw, cell)
    return draw(st.sampled_from(AWKWARD_CELLS) if how == "awkward" else cells)


#: Each part of a time: its valid range, and values a slip or a bad export gives.
_TIME_PARTS: dict[str, tuple[st.SearchStrategy[Any], st.SearchStrategy[Any]]] = {
    # The store keeps 1677 to 2262; importers accept 1970 to 2199.
    "Y": (
        st.integers(1970, 2199),
        st.one_of(st.integers(0, 9999), st.sampled_from([1677, 1969, 2200, 2262])),
    ),
    "m": (st.integers(1, 12), st.integers(0, 99)),
    "d": (st.integers(1, 28), st.integers(0, 99)),
    "H": (st.integers(0, 23), st.integers(0, 99)),
    "M": (st.integers(0, 59), st.integers(0, 99)),
    "S": (st.integers(0, 59), st.integers(0, 99)),
    "z": (
        st.sampled_from(["+01:00", "+00:00", "-05:00"]),
        st.one_of(
            st.sampled_from(["Z", "", "+1", "+0100", "+24:00"]),
            st.integers(-16 * 60, 16 * 60).map(
                lambda m: f"{'+' if m >= 0 else '-'}{abs(m) // 60:02}:{abs(m) % 60:02}"
            ),
        ),
    ),
}


@st.composite
def shaped_times(draw: st.DrawFn, layout: str) -> str:
    """A time written like ``layout`` with at most one part out of range.

    ``layout`` is a format string over ``Y m d H M S z``, e.g.
    ``"{d}/{m}/{Y:04} {H:02}:{M:02}"``; ``z`` is an offset such as ``+01:00``.
    """
    wild = draw(st.sampled_from([None, "Y", "Y", "Y", "m", "d", "H", "M", "S", "z"]))
    parts = {
        name: draw(choices[1] if name == wild else choices[0])
        for name, choices in _TIME_PARTS.items()
    }
    return layout.format(**parts)


@st.composite
def with_cells(
    draw: st.DrawFn,
    seed: SeedLog,
    values: dict[str, st.SearchStrategy[str]],
    most: int = 3,
) -> bytes:
    """The seed with one to ``most`` cells of the columns in ``values`` replaced.

    One bad cell alone reaches past validation more often than several.
    """
    rows = [list(r) for r in seed.rows]
    for _ in range(draw(st.integers(1, most))):
        row = rows[draw(st.integers(0, len(rows) - 1))]
        column = draw(st.sampled_from(sorted(values)))
        row[seed.header.index(column)] = draw(values[column])
    return write_table(list(seed.header), rows, line_end=seed.line_end, bom=seed.bom)


def _change_table(
    draw: st.DrawFn, header: list[str], rows: list[list[str]]
) -> tuple[list[str], list[list[str]]]:
    # One change to the table; every row keeps the header's width unless cut.
    width = len(header)
    column = draw(st.integers(0, width - 1)) if width else 0
    row = draw(st.integers(0, len(rows) - 1)) if rows else 0
    change = draw(
        st.sampled_from(
            [
                "cell",
                "cell",
                "digits",
                "digits",
                "digits",
                "copy_cell",
                "drop_column",
                "repeat_column",
                "swap_columns",
                "swap_names",
                "rename",
                "drop_row",
                "repeat_row",
                "swap_rows",
                "cut_row",
                "extra_field",
            ]
        )
    )
    if not rows or not width:
        return header, rows
    if change == "digits":
        # Keep the cell's shape, change one of its numbers: a year 9999, a
        # month 13, a count of 30 digits.
        target = rows[row]
        if target:
            at = draw(st.integers(0, len(target) - 1))
            target[at] = _renumber(draw, target[at])
    elif change in ("cell", "copy_cell"):
        # A row cut short earlier has fewer fields than the header.
        target = rows[row]
        if not target:
            return header, rows
        at = draw(st.integers(0, len(target) - 1))
        donor = rows[draw(st.integers(0, len(rows) - 1))] or [""]
        copied = donor[draw(st.integers(0, len(donor) - 1))]
        target[at] = draw(cells) if change == "cell" else copied
    elif change == "drop_column":
        header.pop(column)
        for r in rows:
            del r[column : column + 1]
    elif change == "repeat_column":
        header.append(header[column])
        for r in rows:
            r.append(r[column] if column < len(r) else "")
    elif change in ("swap_columns", "swap_names"):
        other = draw(st.integers(0, width - 1))
        header[column], header[other] = header[other], header[column]
        if change == "swap_columns":
            for r in rows:
                if max(column, other) < len(r):
                    r[column], r[other] = r[other], r[column]
    elif change == "rename":
        header[column] = draw(st.one_of(cells, st.just(header[column].lower())))
    elif change == "drop_row":
        rows.pop(row)
    elif change == "repeat_row":
        rows.insert(draw(st.integers(0, len(rows))), list(rows[row]))
    elif change == "swap_rows":
        other = draw(st.integers(0, len(rows) - 1))
        rows[row], rows[other] = rows[other], rows[row]
    elif change == "cut_row":
        del rows[row][draw(st.integers(0, max(len(rows[row]) - 1, 0))) :]
    else:
        rows[row].append(draw(cells))
    return header, rows


def damage_bytes(draw: st.DrawFn, data: bytes) -> bytes:
    """Apply one byte-level change: insert, delete, cut, re-separate, re-end."""
    out = bytearray(data)
    at = draw(st.integers(0, len(out)))
    change = draw(
        st.sampled_from(
            ["insert", "insert", "delete", "cut", "separator", "line_end", "bom"]
        )
    )
    if change == "insert":
        out[at:at] = draw(
            st.one_of(st.sampled_from(AWKWARD_BYTES), st.binary(max_size=6))
        )
    elif change == "delete":
        del out[at : at + draw(st.integers(1, 40))]
    elif change == "cut":
        del out[at:]
    elif change == "separator":
        out = bytearray(
            out.replace(b",", draw(st.sampled_from([b";", b"\t", b"|", b" "])))
        )
    elif change == "line_end":
        ends = [b"\r", b"\n", b"\r\n", b"\n\n"]
        out = bytearray(
            out.replace(b"\r\n", b"\n").replace(b"\n", draw(st.sampled_from(ends)))
        )
    else:
        out[0:0] = b"\xef\xbb\xbf"
    return bytes(out)


@st.composite
def mutated_logs(draw: st.DrawFn, seed: SeedLog) -> bytes:
    """The seed as CSV bytes after up to four table and two byte changes."""
    header = list(seed.header)
    rows = [list(r) for r in seed.rows[: draw(st.integers(1, len(seed.rows)))]]
    for _ in range(draw(st.integers(0, 4))):
        header, rows = _change_table(draw, header, rows)
    data = write_table(header, rows, line_end=seed.line_end, bom=seed.bom)
    for _ in range(draw(st.integers(0, 2))):
        data = damage_bytes(draw, data)
    return data


def random_files(seed: SeedLog) -> st.SearchStrategy[bytes]:
    """Random bytes, alone or after the seed's real header line."""
    header = write_table(list(seed.header), [], line_end=seed.line_end, bom=seed.bom)
    return st.one_of(
        st.binary(max_size=600),
        st.binary(max_size=600).map(lambda body: header + body),
        st.text(max_size=300).map(lambda body: header + body.encode("utf-8")),
    )


def records(seed: SeedLog) -> list[dict[str, Any]]:
    """The seed's rows as JSON objects keyed by the header."""
    return [dict(zip(seed.header, row, strict=True)) for row in seed.rows]


json_values: st.SearchStrategy[Any] = st.recursive(
    st.one_of(
        cells,
        st.none(),
        st.booleans(),
        st.integers(),
        st.floats(allow_nan=False),
        st.sampled_from([10**400, -(10**400)]),
    ),
    lambda children: st.one_of(
        st.lists(children, max_size=3),
        st.dictionaries(st.text(max_size=6), children, max_size=3),
    ),
    max_leaves=6,
)


@st.composite
def mutated_records(draw: st.DrawFn, seed: SeedLog) -> list[Any]:
    """The seed's records with keys dropped or renamed and values replaced."""
    items: list[Any] = [dict(r) for r in records(seed)]
    items = items[: draw(st.integers(1, len(items)))]
    for _ in range(draw(st.integers(0, 4))):
        index = draw(st.integers(0, len(items) - 1))
        item = items[index]
        change = draw(st.sampled_from(["value", "value", "drop", "rename", "item"]))
        if change == "item" or not isinstance(item, dict) or not item:
            items[index] = draw(json_values)
            continue
        key = draw(st.sampled_from(sorted(item)))
        if change == "value":
            item[key] = draw(json_values)
        elif change == "drop":
            del item[key]
        else:
            item[draw(st.text(max_size=8))] = item.pop(key)
    return items


def _json_text(value: Any) -> str:
    # allow_nan keeps the file's own NaN; huge integers are written in full.
    return json.dumps(value, ensure_ascii=False)


@st.composite
def mutated_json_lines(draw: st.DrawFn, seed: SeedLog) -> bytes:
    """The seed's records as JSON lines, with records and bytes damaged."""
    lines = [_json_text(item) for item in draw(mutated_records(seed))]
    if draw(st.booleans()):
        lines.insert(
            draw(st.integers(0, len(lines))),
            draw(st.sampled_from(["[" * 5_000, "{", "1", "null", "", '"x"', "[]"])),
        )
    data = ("\n".join(lines) + "\n").encode("utf-8")
    for _ in range(draw(st.integers(0, 2))):
        data = damage_bytes(draw, data)
    return data


@st.composite
def mutated_json_arrays(draw: st.DrawFn, seed: SeedLog) -> bytes:
    """The seed's records as one JSON array, with records and bytes damaged."""
    items: Any = draw(mutated_records(seed))
    if draw(st.integers(0, 9)) == 0:
        items = draw(json_values)
    text = _json_text(items)
    if draw(st.integers(0, 9)) == 0:
        text = "[" * 5_000 + text
    data = text.encode("utf-8")
    # Any damaged byte spoils the whole array: damage one example in three.
    for _ in range(draw(st.sampled_from([0, 0, 1]))):
        data = damage_bytes(draw, data)
    return data
