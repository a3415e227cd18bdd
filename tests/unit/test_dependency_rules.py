"""gateway/x12, gateway/csvformat and gateway/domain import nothing but the standard library and
gateway.errors (import-linter checks the layers between gateway's own packages; this checks third
parties)."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2] / "gateway"
PURE = sorted(p for folder in ("x12", "csvformat", "domain") for p in (ROOT / folder).rglob("*.py"))


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


@pytest.mark.parametrize("path", PURE, ids=[str(p.relative_to(ROOT)) for p in PURE])
def test_pure_packages_import_only_the_standard_library(path):
    for module in imported_modules(path):
        top = module.split(".")[0]
        if top == "gateway":
            assert module == "gateway.errors" or module.startswith(
                f"gateway.{path.relative_to(ROOT).parts[0]}"
            ), f"{path.name} imports {module}"
        else:
            assert top in sys.stdlib_module_names or top == "__future__", (
                f"{path.name} imports {module}"
            )
