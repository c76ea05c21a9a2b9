"""IANA time zones named in files and options, looked up without surprises."""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


def find_zone(name: object) -> ZoneInfo | None:
    """Return the IANA zone called ``name``, or None when there is no such zone.

    ``ZoneInfo`` itself raises a different error for each kind of bad name: not
    found, not a normalised relative path (``""``, ``"../x"``), a folder of
    zones (``"America"``), a name too long for the file system, not a string.
    """
    if not isinstance(name, str):
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return None
