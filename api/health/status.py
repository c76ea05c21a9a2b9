"""What the open health answers may say about the model store: no file paths.

The model store's messages name folders and files of the host; /readyz is
open to anyone and a 503 goes to every caller, so they say the reason code
and the version instead, and the full message stays in the service log.
"""

from __future__ import annotations


def public_version(reason: str | None, version: str | None) -> str | None:
    """Return the version CURRENT names, unless it names a place, not a version."""
    return None if reason == "model_outside_store" else version


def model_problem(reason: str | None, version: str | None) -> str:
    """Say in public words why the model ``version`` (if known) is not served."""
    name = f"model {version!r}" if version else "the model CURRENT names"
    if reason == "model_corrupt":
        return (
            f"{name} is incomplete, altered or unreadable; the service log "
            "(model_load_failed) says which file"
        )
    if reason == "model_outside_store":
        return (
            "the model store's CURRENT pointer names a place outside the store; "
            "expected the name of a version folder"
        )
    if reason == "model_file_changed":
        return (
            f"the file of {name} changed on disk after it was loaded; this worker "
            "serves the copy it loaded, a restart would rank by the SLA rules alone"
        )
    if reason == "store_unreachable":
        return "the event store does not answer; the service log says why"
    if version:
        return f"{name} is not in the model store"
    return (
        "no model is promoted in the model store: run `stallwatch train`, "
        "then `stallwatch promote`"
    )
