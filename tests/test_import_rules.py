"""Arrows in one direction: the import contracts, and two rules about kinds of module.

The contracts (texts beneath the features, features in layers) live in pyproject.toml under
[tool.importlinter]; these tests run them, so a wrong arrow fails the build.

Two rules are kept by naming convention, checked here over every module under clinic/ (found by
walking the tree, so a new module is covered without editing this file):

- Rule modules hold pure domain rules over plain values and an explicit ``now``. A module is a
  rule module when its file is named rules.py, plan.py, slots.py, gate.py, lifecycle.py,
  localtime.py, keywords.py, triage.py, triage_vocabulary.py, gsm.py, kinds.py, actors.py, names.py,
  hours.py, sheet.py, grid.py, day_sheet.py, figures.py or charts.py. It imports neither Flask nor
  the database (flask, flask_*, sqlalchemy, clinic.extensions, clinic.database, any *.models),
  directly or through the clinic modules it imports.
- Views are modules named views.py or *_views.py, or any module inside a views/ package. They
  never touch the database session: no ``db.session``, no import of ``db`` from
  clinic.extensions, no ``write_transaction``. That work belongs in a service or queries module.

Each check is also fed a bad snippet, so it is known to fail when it should.
"""

from __future__ import annotations

import ast
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "clinic"

RULE_MODULE_NAMES = frozenset(
    {
        "rules",
        "plan",
        "slots",
        "gate",
        "lifecycle",
        "localtime",
        "keywords",
        "triage",
        "triage_vocabulary",
        "gsm",
        "kinds",
        "actors",
        "hours",
        "sheet",
        "names",
        "grid",
        "day_sheet",
        "figures",
        "charts",
    }
)
DATABASE_MODULES = ("clinic.extensions", "clinic.database")


# --- discovering modules ----------------------------------------------------------------------


def module_name(path: Path, root: Path = ROOT) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def clinic_sources(package: Path = PACKAGE) -> dict[str, str]:
    """Every module under clinic/, by dotted name."""
    return {
        module_name(path, package.parent): path.read_text(encoding="utf-8")
        for path in sorted(package.rglob("*.py"))
    }


def is_rule_module(name: str) -> bool:
    return name.rsplit(".", 1)[-1] in RULE_MODULE_NAMES


def is_view_module(name: str) -> bool:
    parts = name.split(".")
    return parts[-1] == "views" or parts[-1].endswith("_views") or "views" in parts[:-1]


# --- rule modules -----------------------------------------------------------------------------


def imported_names(name: str, source: str, modules: set[str], is_package: bool = False) -> set[str]:
    """Dotted names a module imports. ``from a import b`` names a.b when that is a module of
    ours, else a; relative imports are resolved against the module's own package. (Package
    __init__ files that run on the way are not counted: they are the app's, not the rule's.)"""
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                package = name if is_package else name.rpartition(".")[0]
                for _ in range(node.level - 1):
                    package = package.rpartition(".")[0]
                base = f"{package}.{base}" if base else package
            for alias in node.names:
                submodule = f"{base}.{alias.name}"
                names.add(submodule if submodule in modules else base)
    return names


def is_flask_or_database(name: str) -> bool:
    top = name.split(".")[0]
    return (
        top == "flask"
        or top.startswith("flask_")
        or top == "sqlalchemy"
        or any(name == m or name.startswith(m + ".") for m in DATABASE_MODULES)
        or name.rsplit(".", 1)[-1] == "models"
    )


def rule_violations(sources: dict[str, str], packages: frozenset[str] = frozenset()) -> list[str]:
    """For each rule module, the first chain of imports that reaches Flask or the database."""
    modules = set(sources)
    imports = {
        name: imported_names(name, source, modules, name in packages)
        for name, source in sources.items()
    }
    found = []
    for start in sorted(n for n in sources if is_rule_module(n)):
        chain = _forbidden_chain(start, imports)
        if chain:
            found.append(" -> ".join(chain))
    return found


def _forbidden_chain(start: str, imports: dict[str, set[str]]) -> list[str] | None:
    seen = {start}
    paths = [[start]]
    while paths:
        path = paths.pop(0)
        for name in sorted(imports[path[-1]]):
            if is_flask_or_database(name):
                return [*path, name]
            # Follow clinic modules only: those are ours to keep pure.
            if name in imports and name not in seen:
                seen.add(name)
                paths.append([*path, name])
    return None


def _packages(package: Path = PACKAGE) -> frozenset[str]:
    return frozenset(module_name(p, package.parent) for p in package.rglob("__init__.py"))


def test_rule_modules_import_neither_flask_nor_the_database():
    sources = clinic_sources()
    assert any(is_rule_module(name) for name in sources)  # the convention still finds some
    assert rule_violations(sources, _packages()) == []


def test_the_rule_module_check_catches_flask_or_the_database_however_it_arrives():
    assert rule_violations({"clinic.x.rules": "from flask import current_app"}) == [
        "clinic.x.rules -> flask"
    ]
    assert rule_violations({"clinic.x.plan": "import sqlalchemy as sa"}) == [
        "clinic.x.plan -> sqlalchemy"
    ]
    assert rule_violations({"clinic.x.slots": "from clinic.x.models import Thing"})
    assert rule_violations({"clinic.x.gate": "from flask_login import current_user"})
    # Through another clinic module, and through a relative import.
    assert rule_violations(
        {
            "clinic.x.lifecycle": "from . import helpers",
            "clinic.x.helpers": "from clinic.extensions import db",
        }
    ) == ["clinic.x.lifecycle -> clinic.x.helpers -> clinic.extensions"]
    # What a pure rule may use: the standard library, blinker, other pure clinic modules.
    assert (
        rule_violations(
            {
                "clinic.visits.lifecycle": "import enum\nimport blinker\n"
                "from clinic.actors import Actor",
                "clinic.actors": "import enum\nfrom dataclasses import dataclass",
                "clinic.visits.services": "from clinic.extensions import db",
            }
        )
        == []
    )


# --- views ------------------------------------------------------------------------------------


def view_violations(name: str, source: str) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(source)):
        where = f"{name}:{getattr(node, 'lineno', '?')}"
        if isinstance(node, ast.ImportFrom) and node.module:
            for alias in node.names:
                if node.module == "clinic.extensions" and alias.name == "db":
                    found.append(f"{where} imports db")
                if alias.name == "write_transaction":
                    found.append(f"{where} imports write_transaction")
        elif isinstance(node, ast.Attribute):
            value = node.value
            if node.attr == "session" and isinstance(value, ast.Name) and value.id == "db":
                found.append(f"{where} uses db.session")
            if node.attr == "write_transaction":
                found.append(f"{where} uses write_transaction")
        elif isinstance(node, ast.Name) and node.id == "write_transaction":
            found.append(f"{where} uses write_transaction")
    return found


def test_views_never_touch_the_database_session():
    sources = clinic_sources()
    views = [name for name in sources if is_view_module(name)]
    assert "clinic.booking.views" in views and "clinic.sms.staff_views" in views
    found = [problem for name in views for problem in view_violations(name, sources[name])]
    assert found == [], "move this into a service or queries module"


def test_the_view_check_catches_each_way_to_the_session():
    assert view_violations("v", "from clinic.extensions import db") == ["v:1 imports db"]
    assert view_violations("v", "def f():\n    db.session.commit()") == ["v:2 uses db.session"]
    assert view_violations("v", "from clinic.database import write_transaction") == [
        "v:1 imports write_transaction"
    ]
    assert view_violations("v", "import clinic.database\nclinic.database.write_transaction()")
    # Flask's own session (the signed cookie) is not the database.
    assert view_violations("v", "from flask import session\nsession['x'] = 1") == []
    assert is_view_module("clinic.sms.staff_views") and is_view_module("clinic.staff.views.desk")
    assert not is_view_module("clinic.sms.queries")


# --- the import contracts ---------------------------------------------------------------------


def lint_imports(cwd: Path) -> subprocess.CompletedProcess:
    script = Path(sys.executable).parent / "lint-imports"
    command = str(script) if script.exists() else shutil.which("lint-imports")
    if command is None:
        pytest.fail("lint-imports is missing: pip install -r requirements-dev.txt")
    return subprocess.run(
        [command, "--no-cache", "--no-logo"],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_import_contracts_are_kept():
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert re.search(r"Contracts: [1-9][0-9]* kept, 0 broken\.", result.stdout), result.stdout


def test_a_wrong_arrow_breaks_the_contracts(tmp_path):
    shutil.copytree(PACKAGE, tmp_path / "clinic", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    # Texts reaching up into booking, through a module that looks harmless.
    gsm = tmp_path / "clinic" / "sms" / "gsm.py"
    gsm.write_text(gsm.read_text() + "\nfrom clinic.web import formatting  # noqa\n")
    formatting = tmp_path / "clinic" / "web" / "formatting.py"
    formatting.write_text(formatting.read_text() + "\nimport clinic.booking.slots  # noqa\n")
    result = lint_imports(tmp_path)
    assert result.returncode != 0
    assert "The texts package never reaches the features above it BROKEN" in result.stdout
    assert "Features import only downwards BROKEN" in result.stdout
    assert "clinic.sms.gsm -> clinic.web.formatting" in result.stdout
    assert "clinic.web is not allowed to import clinic.booking" in result.stdout
