"""The mapping file of the generic importer: which source column is what.

A desk with a new export writes a mapping, not code. See
``examples/crm-export.mapping.yaml`` for a complete, commented example.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import pandas as pd
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from features.config_text import YamlFileError, read_yaml_file
from features.events import (
    CHANNELS,
    EVENT_COLUMNS,
    PRIORITIES,
    ActorRole,
    EventKind,
    Status,
)
from features.zones import find_zone

#: Canonical values each mapped field may take, where the set is closed.
CLOSED_VALUES: dict[str, frozenset[str]] = {
    "kind": frozenset(k.value for k in EventKind),
    "actor_role": frozenset(r.value for r in ActorRole),
    "status": frozenset(s.value for s in Status),
    "priority": frozenset(PRIORITIES),
    "channel": frozenset(CHANNELS),
}
#: Canonical fields a mapping may fill besides id, time and kind.
OPTIONAL_FIELDS = tuple(
    c
    for c in EVENT_COLUMNS
    if c not in ("event_id", "source", "ticket_id", "seq", "occurred_at", "kind")
)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ColumnMap(_Strict):
    """Where a canonical field comes from: a column, or one constant value."""

    column: str | None = Field(default=None, min_length=1)
    constant: str | None = None
    values: dict[str, str] | None = Field(
        default=None, description="Source value -> canonical value."
    )

    @field_validator("constant")
    @classmethod
    def _one_source(cls, value: str | None, info: Any) -> str | None:
        if value is not None and info.data.get("column") is not None:
            raise ValueError("give either 'column' or 'constant', not both")
        return value

    @model_validator(mode="after")
    def _some_source(self) -> ColumnMap:
        if self.column is None and self.constant is None:
            raise ValueError("expected 'column' (a source column) or 'constant'")
        return self


class TimeMap(_Strict):
    """The event time: a column, its format and the zone of wall-clock times."""

    column: str = Field(min_length=1)
    format: str | None = Field(
        default=None, description="strftime format; default ISO 8601."
    )
    timezone: str = "UTC"

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        if find_zone(value) is None:
            raise ValueError(f"{value!r} is not an IANA time zone (e.g. Europe/Berlin)")
        return value

    @field_validator("format")
    @classmethod
    def _readable_format(cls, value: str | None) -> str | None:
        # pandas refuses a bad directive ("%Q", a stray "%") for every value.
        if value:
            try:
                pd.to_datetime(pd.Series(["0"]), format=value, errors="coerce")
            except ValueError as exc:
                raise ValueError(
                    f"expected a strftime format such as '%d.%m.%Y %H:%M' ({exc})"
                ) from exc
        return value


class CsvOptions(_Strict):
    """How the CSV file is written."""

    separator: str = Field(default=",", min_length=1, max_length=1)
    encoding: str = "utf-8"

    @field_validator("separator")
    @classmethod
    def _splits_fields(cls, value: str) -> str:
        if value in ('"', "\n", "\r"):
            raise ValueError(
                f"expected one character, not a quote or line break, got {value!r}"
            )
        return value

    @field_validator("encoding")
    @classmethod
    def _text_encoding(cls, value: str) -> str:
        # A codec that is missing or not for text ("rot13", "zlib") fails here.
        try:
            "a".encode(value).decode(value)
        except (LookupError, UnicodeError) as exc:
            raise ValueError(
                f"expected a text encoding such as utf-8 or latin-1, got {value!r}"
            ) from exc
        return value


class Mapping(_Strict):
    """A whole mapping file."""

    format: Literal["csv", "jsonl", "json"]
    source: str = Field(pattern=r"^[a-z0-9_\-]{1,40}$")
    csv: CsvOptions = CsvOptions()
    ticket_id: ColumnMap
    occurred_at: TimeMap
    kind: ColumnMap
    event_id: ColumnMap | None = None
    fields: dict[str, ColumnMap] = {}

    @field_validator("fields")
    @classmethod
    def _known_fields(cls, value: dict[str, ColumnMap]) -> dict[str, ColumnMap]:
        unknown = sorted(set(value) - set(OPTIONAL_FIELDS))
        if unknown:
            raise ValueError(
                f"unknown field(s) {unknown}; expected some of {list(OPTIONAL_FIELDS)}"
            )
        return value

    def columns(self) -> dict[str, ColumnMap]:
        """Every canonical field with its source, id and kind included."""
        out = {"ticket_id": self.ticket_id, "kind": self.kind, **self.fields}
        if self.event_id is not None:
            out["event_id"] = self.event_id
        return out


class MappingError(ValueError):
    """A mapping file is not valid; the message lists every bad field."""


def load_mapping(path: Path) -> Mapping:
    """Read and validate a YAML mapping file."""
    try:
        data = read_yaml_file(path)
    except (OSError, YamlFileError) as exc:
        raise MappingError(f"{path}: not a readable YAML file ({exc})") from exc
    try:
        mapping = Mapping.model_validate(data)
    except ValidationError as exc:
        lines = [
            f"  - {'.'.join(str(p) for p in e['loc']) or '<document>'}: {e['msg']}"
            for e in exc.errors()
        ]
        raise MappingError(f"{path}: invalid mapping\n" + "\n".join(lines)) from exc

    # Value maps must land on canonical values.
    problems = []
    for name, column in mapping.columns().items():
        allowed = CLOSED_VALUES.get(name)
        targets = list((column.values or {}).values())
        if column.constant is not None:
            targets.append(column.constant)
        for target in targets:
            if allowed is not None and target not in allowed:
                problems.append(
                    f"  - {name}: {target!r} is not one of {sorted(allowed)}"
                )
    if problems:
        raise MappingError(f"{path}: invalid mapping\n" + "\n".join(problems))
    return mapping
