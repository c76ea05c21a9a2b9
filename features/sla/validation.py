"""Validation errors for SLA configuration: every bad field, named, in one error."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from features.config_text import YamlFileError, read_yaml_file


@dataclass(frozen=True)
class ConfigIssue:
    """One bad field: where it is, what was expected and what was found."""

    field: str
    expected: str
    got: str

    def __str__(self) -> str:
        return f"{self.field}: expected {self.expected}, got {self.got}"


class SlaConfigError(ValueError):
    """A calendar, policy or case document failed validation.

    The message lists every issue, one per line, each naming the field.
    """

    def __init__(self, source: str, issues: list[ConfigIssue]) -> None:
        self.source = source
        self.issues = list(issues)
        lines = "\n".join(f"  - {issue}" for issue in self.issues)
        super().__init__(f"invalid {source} ({len(self.issues)} issue(s)):\n{lines}")


@dataclass
class IssueCollector:
    """Gather issues while a document is read, then raise them all at once."""

    source: str
    issues: list[ConfigIssue] = field(default_factory=list)

    def add(self, path: str, expected: str, value: Any) -> None:
        """Record that the field at ``path`` held ``value`` instead of ``expected``."""
        self.issues.append(ConfigIssue(path, expected, describe(value)))

    def raise_if_any(self) -> None:
        """Raise :class:`SlaConfigError` when at least one issue was recorded."""
        if self.issues:
            raise SlaConfigError(self.source, self.issues)

    def require_mapping(self, data: Any, *, prefix: str, expected: str) -> None:
        """Raise at once when the document at ``prefix`` is not a mapping."""
        if not isinstance(data, Mapping):
            self.add(prefix.rstrip(".") or "<document>", expected, data)
            self.raise_if_any()


def describe(value: Any) -> str:
    """Return a short, readable rendering of a bad value for an error message."""
    if value is MISSING:
        return "nothing (field is missing)"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


class _Missing:
    def __repr__(self) -> str:
        return "<missing>"


#: Marker for a field that is absent from a document.
MISSING: Any = _Missing()


def check_unknown_keys(
    data: Mapping[str, Any], allowed: set[str], *, prefix: str, out: IssueCollector
) -> None:
    """Record an issue for every key of ``data`` that is not in ``allowed``."""
    for key in data:
        if key not in allowed:
            # An empty or non-text key is quoted, so the place still reads.
            plain = isinstance(key, str) and key != "" and key == key.strip()
            name = key if plain else repr(key)
            out.add(
                f"{prefix}{name}",
                "no such field; known fields are " + ", ".join(sorted(allowed)),
                data[key],
            )


def read_mapping_file(path: str | Path, *, what: str) -> dict[str, Any]:
    """Read a YAML (or JSON) file whose top level must be a mapping.

    Parameters
    ----------
    path : str or Path
        File to read; JSON is read as YAML.
    what : str
        What the file holds, used in error messages (e.g. ``"calendar"``).

    Returns
    -------
    dict
        The parsed top-level mapping.
    """
    path = Path(path)
    try:
        data = read_yaml_file(path)
    except YamlFileError as exc:
        issue = ConfigIssue("<document>", f"valid YAML or JSON ({exc})", "")
        raise SlaConfigError(f"{what} file {path}", [issue]) from exc
    if not isinstance(data, dict):
        issue = ConfigIssue("<document>", "a mapping at the top level", describe(data))
        raise SlaConfigError(f"{what} file {path}", [issue])
    return data
