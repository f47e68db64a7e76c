"""The tests keep their layout: each test module sits in the folder of its kind, and none
imports another test module or a conftest.py (shared helpers live in tests/utils/, fixtures in
conftest.py files, which pytest finds without an import)."""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
KINDS = {"unit", "workflows", "integration", "e2e"}


def imported_modules(text: str, path: Path) -> list[str]:
    """Every module an import statement of ``text`` (the file ``path``) names: ``from a import
    b`` gives ``a`` and ``a.b``, since b may be a module."""
    names: list[str] = []
    for node in ast.walk(ast.parse(text, str(path))):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against the importing module's package
                package = path.relative_to(TESTS.parent).parent.parts
                base = ".".join(package[: len(package) - node.level + 1])
                module = f"{base}.{node.module}" if node.module else base
            else:
                module = node.module or ""
            names += [module] + [f"{module}.{alias.name}" for alias in node.names]
    return names


def is_test_module(name: str) -> bool:
    parts = name.split(".")
    return parts[0] == "tests" and (parts[-1].startswith("test_") or parts[-1] == "conftest")


def offending_imports(path: Path) -> list[str]:
    text = path.read_text(encoding="utf-8")
    return sorted({name for name in imported_modules(text, path) if is_test_module(name)})


def test_no_test_module_imports_a_test_module_or_conftest() -> None:
    found = {
        str(path.relative_to(TESTS.parent)): bad
        for path in sorted(TESTS.rglob("*.py"))
        if (bad := offending_imports(path))
    }
    assert not found, f"move shared helpers to tests/utils/, fixtures to conftest.py: {found}"


def test_the_rule_sees_each_spelling() -> None:
    module = TESTS / "integration" / "test_example_only_parsed.py"
    spellings = {
        "from tests.conftest import free_port": ["tests.conftest"],
        "from tests.integration.test_api import PLAYBOOK": ["tests.integration.test_api"],
        "import tests.unit.test_calendar": ["tests.unit.test_calendar"],
        "from tests.workflows import test_replay": ["tests.workflows.test_replay"],
        "from .test_api import PLAYBOOK": ["tests.integration.test_api"],
        "from . import conftest": ["tests.integration.conftest"],
        "from tests.utils.net import free_port": [],
        "from tests.utils import factories": [],
    }
    for source, expected in spellings.items():
        names = [n for n in imported_modules(source, module) if is_test_module(n)]
        assert names == expected, source


def test_every_test_module_sits_in_the_folder_of_its_kind() -> None:
    misplaced = [
        str(path.relative_to(TESTS.parent))
        for path in TESTS.rglob("test_*.py")
        if path.relative_to(TESTS).parts[0] not in KINDS
    ]
    assert not misplaced, f"put each test module in tests/{{{','.join(sorted(KINDS))}}}/"
