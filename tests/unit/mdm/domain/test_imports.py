"""The domain stays pure: standard library and its own modules only."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import posturebridge.mdm.domain as domain

DOMAIN_DIR = Path(domain.__file__).parent


def _imports(path: Path) -> list[tuple[int, str]]:
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.extend((0, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            found.append((node.level, node.module or ""))
    return found


def test_the_domain_imports_only_the_standard_library_and_itself() -> None:
    offenders = [
        f"{path.relative_to(DOMAIN_DIR)}: {module}"
        for path in sorted(DOMAIN_DIR.rglob("*.py"))
        for level, module in _imports(path)
        if level == 0 and module.split(".")[0] not in sys.stdlib_module_names | {"__future__"}
    ]
    assert offenders == []


def test_the_domain_has_modules_to_check() -> None:
    assert len(list(DOMAIN_DIR.rglob("*.py"))) > 10
