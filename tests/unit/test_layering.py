"""The core's floors import only downwards, and the layer never imports what only the API function ships:
on Lambda the dispatcher's folder holds no `api_schema` or `field_errors`, so such an import would fail there."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

CORE = Path(__file__).resolve().parents[2] / "layers" / "common" / "oms_webhooks"
API_ONLY = {path.stem for path in (CORE.parents[2] / "functions" / "api").glob("*.py")} - {"app"}
BELOW = {"domain": set(), "adapters": {"domain"}, "rules": {"domain", "adapters"}}  # floors each may import
FLOORS = set(BELOW)


def imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


MODULES = sorted(CORE.rglob("*.py"))


def test_the_api_function_has_modules_of_its_own() -> None:
    assert {"api_schema", "field_errors"} <= API_ONLY


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(CORE)))
def test_the_layer_never_imports_the_api_functions_modules(path: Path) -> None:
    assert not {name.split(".")[0] for name in imports(path)} & API_ONLY


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(CORE)))
def test_each_floor_imports_only_the_floors_below_it(path: Path) -> None:
    floor = path.relative_to(CORE).parts[0]
    if floor not in FLOORS:
        return  # clock, settings, telemetry, wiring stand beside the floors
    used = {name.split(".")[1] for name in imports(path) if name.startswith("oms_webhooks.") and name.count(".") >= 1}
    assert used & FLOORS <= BELOW[floor] | {floor}, f"{path.name} imports {sorted(used & FLOORS)}"
