"""The house's import rules (DESIGN.md): arrows point one way, and only orchestration/
knows Dagster."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("salesops", "connectors", "orchestration", "ml", "api", "dashboards")
ALLOWED = {
    "salesops": set(),
    "connectors": {"salesops"},
    "ml": {"salesops"},
    "api": {"salesops"},
    "dashboards": {"salesops"},
    "orchestration": {"salesops", "connectors", "ml"},
}


def imported_roots(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    roots = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots


def files(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


@pytest.mark.parametrize("package", PACKAGES)
def test_package_imports_only_what_design_allows(package):
    broken = []
    for path in files(package):
        for root in imported_roots(path) & set(PACKAGES) - {package} - ALLOWED[package]:
            broken.append(f"{path.relative_to(ROOT)} imports {root}")
    assert not broken, "DESIGN.md forbids: " + "; ".join(broken)


@pytest.mark.parametrize("package", [p for p in PACKAGES if p != "orchestration"])
def test_only_orchestration_knows_dagster(package):
    offenders = [str(p.relative_to(ROOT)) for p in files(package)
                 if {"dagster", "dagster_dbt", "dagster_postgres"} & imported_roots(p)]
    assert not offenders


def test_rule_checker_sees_a_forbidden_import(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("from api.main import create_app\nimport ml.tracking\n")
    assert {"api", "ml"} <= imported_roots(bad)


@pytest.mark.parametrize("package", PACKAGES)
def test_every_package_says_what_it_holds(package):
    init = ROOT / package / "__init__.py"
    assert init.exists() and ast.get_docstring(ast.parse(init.read_text())), \
        f"{package}/__init__.py needs a docstring saying what the package holds"
