"""How a measured figure reads against an issue's goal."""

from __future__ import annotations


def verdict(shortfall: float, *, strict: bool = False) -> str:
    """Say met, or missed by how many times (``shortfall`` above 1 misses).

    ``strict``: a goal of "under" is missed at exactly 1 too.
    """
    met = shortfall < 1 if strict else shortfall <= 1
    if met:
        return "met"
    # Near misses read as a share: "missed by 1.0 times" says nothing.
    if shortfall < 1.1:
        return f"missed by {shortfall - 1:.1%}"
    return f"missed by {shortfall:.1f} times"
