"""Hypothesis strategies for configuration files: random and mutated YAML.

The mapping, alert rule and SLA desk loaders are fuzzed with the same three
kinds of input: random YAML documents, valid documents with a few fields
deleted, renamed or replaced, and text or bytes damaged below the YAML level.
"""

from __future__ import annotations

import copy
from datetime import UTC, date, datetime
from typing import Any

import yaml
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

#: Bounded, repeatable settings shared by every fuzz property.
FUZZ_SETTINGS = settings(
    max_examples=100,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

#: Scalars that have tripped parsers before: odd numbers, dates, bytes, marks.
AWKWARD_SCALARS: list[Any] = [
    None,
    True,
    0,
    -1,
    10**30,
    -(10**30),
    1e308,
    float("inf"),
    float("nan"),
    "",
    " ",
    "\x00",
    "a\x00b",
    "\ufeff",
    "x" * 300,
    "any",
    "24/7",
    "UTC",
    "America",
    "Europe/",
    "../../etc/passwd",
    "utf-16",
    "rot13",
    "no-such-codec",
    "%",
    "%Q",
    "%Y-%m-%d %H:%M:%S%z",
    "\n",
    '"',
    "\t",
    "09:00",
    "24:00",
    "25:61",
    "2016-02-30",
    "0001-01-01T00:00:00+01:00",
    "9999-12-31T23:59:59-01:00",
    date(2016, 2, 29),
    datetime(2000, 1, 1, tzinfo=UTC),
    datetime(2000, 1, 1),
    [],
    {},
    [[]],
    [None],
    [{}],
    {"": None},
    {1: 2},
]

_SCALARS = st.one_of(
    st.sampled_from(AWKWARD_SCALARS),
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.dates(),
)

#: Any value ``yaml.safe_dump`` can write, nested a few levels deep.
yaml_values: st.SearchStrategy[Any] = st.recursive(
    _SCALARS,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(
            st.one_of(st.text(max_size=10), st.integers(), st.booleans()),
            children,
            max_size=4,
        ),
    ),
    max_leaves=12,
)

#: Characters that mean something to YAML, for text-level damage.
_YAML_MARKS = [
    *":-?[]{},#&*!|>'\"%@`\n\t\r ",
    "!!binary ",
    "!!timestamp ",
    "!!int ",
    "!!float ",
    "!!python/object:os.system ",
    "<<: ",
    "&a ",
    "*a ",
    "*nope ",
    "--- ",
    "... ",
    "2016-02-30",
    "2016-13-01 25:00:00",
    "\x00",
    "\ufeff",
    "[" * 40,
]

#: Raw bytes that break decoding: invalid UTF-8, byte-order marks, NUL.
_BAD_BYTES = [
    b"\xff",
    b"\xfe\xff",
    b"\xc3",
    b"\xc3\x28",
    b"\xed\xa0\x80",
    b"\xef\xbb\xbf",
    b"\x00",
    b"\x80\x81\x82",
]

#: Time zone names that ``ZoneInfo`` refuses each in its own way, or accepts.
ZONE_NAMES = st.one_of(
    st.sampled_from(
        [
            "America",
            "Europe/",
            "",
            "x" * 300,
            "\x00",
            "/etc/passwd",
            "../UTC",
            "Factory",
            "Etc/GMT+5",
            "US/Pacific-New",
            "Europe/Berlin",
        ]
    ),
    st.text(max_size=30),
)

#: Documents nested deeper than any parser's recursion allows.
DEEP_NESTING = ("[" * 5_000, "{a: " * 3_000, "- " * 3_000 + "x")


def laughs(field: str) -> bytes:
    """A file whose ``field`` is nine levels of nine aliases: 387 million values."""
    anchors = "x0: &a0 [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"x{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]\n" for i in range(1, 9)
    )
    return f"version: 1\n{anchors}{field}: *a8\n".encode()


def dump(document: Any) -> str:
    """Return ``document`` as YAML text, the way a person's file would look."""
    return yaml.safe_dump(document, allow_unicode=True, sort_keys=False)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    # Every place in the document, the root included, depth first.
    found = [prefix]
    if isinstance(node, dict):
        for key, value in node.items():
            found += _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _paths(value, (*prefix, index))
    return found


def _leaves(node: Any) -> list[Any]:
    # Every scalar of the document, to move into another field.
    if isinstance(node, dict):
        return [leaf for value in node.values() for leaf in _leaves(value)]
    if isinstance(node, list):
        return [leaf for value in node for leaf in _leaves(value)]
    return [node]


def _at(document: Any, path: tuple[Any, ...]) -> Any:
    node = document
    for step in path:
        node = node[step]
    return node


def _mutate_once(draw: st.DrawFn, document: Any) -> Any:
    path = draw(st.sampled_from(_paths(document)))
    operation = draw(
        st.sampled_from(
            ["replace", "move", "delete", "rename", "duplicate", "wrap", "text"]
        )
    )
    here = _at(document, path)
    if operation == "replace":
        new: Any = draw(st.one_of(st.sampled_from(AWKWARD_SCALARS), yaml_values))
    elif operation == "move":
        new = copy.deepcopy(draw(st.sampled_from(_leaves(document))))
    elif operation == "wrap":
        new = [here]
    elif operation == "text":
        new = str(here)
    elif operation == "duplicate" and isinstance(here, list) and here:
        new = [*here, copy.deepcopy(draw(st.sampled_from(here)))]
    elif operation == "rename" and isinstance(here, dict) and here:
        old = draw(st.sampled_from(list(here)))
        name = draw(st.one_of(st.text(max_size=10), st.sampled_from(AWKWARD_SCALARS)))
        try:
            new = {(name if k == old else k): v for k, v in here.items()}
        except TypeError:  # an unhashable name: drop the key instead
            new = {k: v for k, v in here.items() if k != old}
    elif operation == "delete" and path:
        parent = _at(document, path[:-1])
        del parent[path[-1]]
        return document
    else:
        new = None
    if not path:
        return new
    _at(document, path[:-1])[path[-1]] = new
    return document


@st.composite
def mutated_documents(draw: st.DrawFn, document: Any, most: int = 3) -> Any:
    """A deep copy of ``document`` after one to ``most`` random changes."""
    out = copy.deepcopy(document)
    for _ in range(draw(st.integers(1, most))):
        out = _mutate_once(draw, out)
    return out


@st.composite
def damaged_text(draw: st.DrawFn, text: str) -> bytes:
    """``text`` as UTF-8 with a few insertions, deletions and cuts in its bytes."""
    data = bytearray(text.encode("utf-8"))
    for _ in range(draw(st.integers(1, 3))):
        at = draw(st.integers(0, len(data)))
        kind = draw(st.sampled_from(["insert", "delete", "cut", "bytes"]))
        if kind == "insert":
            mark = draw(st.one_of(st.sampled_from(_YAML_MARKS), st.text(max_size=6)))
            data[at:at] = mark.encode("utf-8")
        elif kind == "delete":
            del data[at : at + draw(st.integers(1, 20))]
        elif kind == "cut":
            del data[at:]
        else:
            data[at:at] = draw(
                st.one_of(st.sampled_from(_BAD_BYTES), st.binary(max_size=4))
            )
    return bytes(data)


def yaml_files(valid: list[Any]) -> st.SearchStrategy[bytes]:
    """File contents: mostly mutated ``valid`` documents, then random and damaged."""
    mutated = st.sampled_from(valid).flatmap(mutated_documents).map(dump)
    texts = [dump(document) for document in valid]
    marks = st.lists(st.sampled_from([*_YAML_MARKS, "a", "b", "0", "9"]), max_size=30)
    kinds: list[st.SearchStrategy[bytes]] = [
        # Valid files with a few changes reach the field checks: most examples.
        *[mutated.map(str.encode)] * 6,
        yaml_values.map(dump).map(str.encode),
        st.sampled_from(texts).flatmap(damaged_text),
        st.sampled_from(texts).flatmap(damaged_text),
        marks.map("".join).map(str.encode),
        st.binary(max_size=200),
        st.sampled_from(DEEP_NESTING).map(str.encode),
    ]
    return st.sampled_from(kinds).flatmap(lambda kind: kind)
