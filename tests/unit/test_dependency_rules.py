"""gateway/x12, gateway/csvformat and gateway/domain import nothing but the standard library and
gateway.errors, and gateway/cxml nothing but those and lxml (import-linter checks the layers
between gateway's own packages; this checks third parties)."""

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


XML_CODEC = sorted((ROOT / "cxml").rglob("*.py"))


@pytest.mark.parametrize("path", XML_CODEC, ids=[str(p.relative_to(ROOT)) for p in XML_CODEC])
def test_the_cxml_codec_imports_only_the_standard_library_and_lxml(path):
    for module in imported_modules(path):
        top = module.split(".")[0]
        if top == "gateway":
            assert module == "gateway.errors" or module.startswith("gateway.cxml"), (
                f"{path.name} imports {module}"
            )
        else:
            assert top in sys.stdlib_module_names or top in {"__future__", "lxml"}, (
                f"{path.name} imports {module}"
            )
