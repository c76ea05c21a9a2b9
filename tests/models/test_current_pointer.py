"""The model pointer is read again only when CURRENT changes, and at once then."""

from __future__ import annotations

from pathlib import Path

import pytest

from models import scorer as scorer_module
from models.scorer import CurrentPointer
from training.bundle import point_current


def test_current_pointer_sees_each_promotion_and_reads_only_on_change(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    reads: list[Path] = []
    read = scorer_module.current_version

    def counted(model_dir: Path) -> str | None:
        reads.append(model_dir)
        return read(model_dir)

    monkeypatch.setattr(scorer_module, "current_version", counted)
    pointer = CurrentPointer(tmp_path)
    nothing = pointer.version()

    point_current(tmp_path, "20260101T000000Z")
    first = [pointer.version() for _ in range(50)]
    point_current(tmp_path, "20260202T000000Z")
    second = pointer.version()
    # An edit in place, longer text: size and modification time change.
    (tmp_path / "CURRENT").write_text("20260303T000000Z-b\n")
    third = pointer.version()
    (tmp_path / "CURRENT").unlink()

    assert nothing is None
    assert set(first) == {"20260101T000000Z"}
    assert (second, third) == ("20260202T000000Z", "20260303T000000Z-b")
    assert pointer.version() is None
    assert len(reads) == 3
