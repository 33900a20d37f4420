"""The shape of the system, as STYLE.md item 14 asks: who may import whom.

- ``conditional_access`` and every ``domain`` package import nothing of the project.
- ``common`` imports no part.
- The parts (directory, mdm, partner, device, console) never import each other, except the modules that
  are a boundary's shared wire shapes or HTTP clients (listed in BOUNDARY_MODULES).
- Nothing imports the entry points (``cli``, ``runner``, ``__main__``) but the entry points.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import posturebridge

PACKAGE_ROOT = Path(posturebridge.__file__).parent
PARTS = ("directory", "mdm", "partner", "device", "console")
ENTRY_POINTS = ("posturebridge.cli", "posturebridge.runner", "posturebridge.__main__", "posturebridge.demo")
# What one part may use of another: HTTP clients, and pure modules that define a boundary's wire format.
BOUNDARY_MODULES = (
    "posturebridge.conditional_access",  # the pure CA engine: used by the directory and the partner's shadow mode
    "posturebridge.mdm.client",  # the MDM's HTTP client: used by the partner service and the device agent
    "posturebridge.mdm.schemas",  # the MDM API's wire shapes, which that client returns
    "posturebridge.mdm.async_client",  # its asyncio twin for the device fleet simulator
    "posturebridge.mdm.calls",  # the device-agent calls both clients send
    "posturebridge.device.proof",  # device proof wire format: signed by the agent, verified by the directory
    "posturebridge.device.keys",
    "posturebridge.partner.client",  # the partner service's HTTP client: used by the MDM to onboard organisations
    "posturebridge.partner.api.schemas",  # its wire shapes
)


def _module_name(path: Path) -> str:
    relative = path.relative_to(PACKAGE_ROOT.parent).with_suffix("")
    parts = list(relative.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    module = _module_name(path)
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                target = f"{base}.{node.module}" if node.module else base
            else:
                target = node.module or ""
            found.add(target)
            found.update(f"{target}.{alias.name}" for alias in node.names)
    return {name for name in found if name == "posturebridge" or name.startswith("posturebridge.")}


MODULES = {_module_name(path): _imports(path) for path in sorted(PACKAGE_ROOT.rglob("*.py"))}


def _part_of(module: str) -> str | None:
    segments = module.split(".")
    return segments[1] if len(segments) > 1 and segments[1] in PARTS else None


def _within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def test_the_scan_sees_the_package() -> None:
    assert "posturebridge.directory.app" in MODULES
    assert "posturebridge.common.database" in MODULES["posturebridge.runner"]


@pytest.mark.parametrize("module", sorted(m for m in MODULES if _within(m, "posturebridge.conditional_access")))
def test_conditional_access_imports_nothing_of_the_project(module: str) -> None:
    outside = {name for name in MODULES[module] if not _within(name, "posturebridge.conditional_access")}
    assert not outside, f"{module} imports {sorted(outside)}"


@pytest.mark.parametrize("module", sorted(m for m in MODULES if ".domain" in m))
def test_domain_packages_import_nothing_but_themselves(module: str) -> None:
    domain = module[: module.index(".domain") + len(".domain")]
    outside = {name for name in MODULES[module] if not _within(name, domain)}
    assert not outside, f"{module} imports {sorted(outside)}"


@pytest.mark.parametrize("module", sorted(m for m in MODULES if _within(m, "posturebridge.common")))
def test_common_imports_no_part_and_no_entry_point(module: str) -> None:
    bad = {
        name
        for name in MODULES[module]
        if _part_of(name) is not None or any(_within(name, entry) for entry in ENTRY_POINTS)
    }
    assert not bad, f"{module} imports {sorted(bad)}"


@pytest.mark.parametrize("module", sorted(m for m in MODULES if _part_of(m) is not None))
def test_parts_talk_to_each_other_only_through_boundary_modules(module: str) -> None:
    own = _part_of(module)
    crossing = {
        name
        for name in MODULES[module]
        if _part_of(name) not in (None, own) and not any(_within(name, allowed) for allowed in BOUNDARY_MODULES)
    }
    assert not crossing, f"{module} reaches into another part: {sorted(crossing)}"


@pytest.mark.parametrize("module", sorted(m for m in MODULES if not any(_within(m, e) for e in ENTRY_POINTS)))
def test_nothing_imports_the_entry_points(module: str) -> None:
    bad = {name for name in MODULES[module] if any(_within(name, entry) for entry in ENTRY_POINTS)}
    assert not bad, f"{module} imports entry points {sorted(bad)}"
