"""The arrows of ARCHITECTURE: which layer may import which."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LAYERS = ("features", "training", "models", "api", "stallwatch")

#: Internal packages each layer may import. ``stallwatch.cli`` is the top.
ALLOWED = {
    "features": {"features"},
    "training": {"features", "training"},
    "models": {"features", "training", "models"},
    "api": {"features", "models", "api", "stallwatch"},
    "stallwatch": set(LAYERS),
}
#: Third-party libraries that must stay out of a layer.
FORBIDDEN = {
    "features": {"fastapi", "lightgbm", "mlflow", "sklearn", "starlette"},
    "training": {"fastapi", "starlette"},
    "models": {"fastapi", "mlflow", "starlette"},
    "api": {"pandas", "numpy", "lightgbm", "mlflow", "sklearn"},
}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def _modules() -> list[tuple[str, Path]]:
    return [
        (layer, p) for layer in LAYERS for p in sorted((ROOT / layer).rglob("*.py"))
    ]


@pytest.mark.parametrize(
    ("layer", "path"), _modules(), ids=lambda v: str(v).replace(str(ROOT), "")
)
def test_layer_imports_follow_the_arrows(layer: str, path: Path) -> None:
    imported = _imports(path)
    internal = imported & set(LAYERS)

    assert internal <= ALLOWED[layer], f"{path} imports {internal - ALLOWED[layer]}"
    assert not imported & FORBIDDEN.get(layer, set())


def test_nothing_imports_the_cli() -> None:
    for _, path in _modules():
        if path.name != "cli.py":
            assert "stallwatch.cli" not in path.read_text()
