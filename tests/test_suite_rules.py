"""Rules the test suite keeps so it stays fast and its files stay independent."""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parent


def imports_of(path: Path) -> list[tuple[str, list[str]]]:
    """(module, names) for every ``import`` and ``from ... import`` in the file."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.append((node.module, [alias.name for alias in node.names]))
        elif isinstance(node, ast.Import):
            found.extend((alias.name, []) for alias in node.names)
    return found


def test_no_test_module_imports_from_another():
    # Shared helpers belong in tests/helpers.py or tests/factories.py: importing a test module
    # runs its module-level code and ties one behaviour area's file to another's.
    crossings = [
        f"{path.name}: {module}"
        for path in sorted(TESTS.glob("*.py"))
        for module, names in imports_of(path)
        if module.startswith(("tests.test_", "tests.conftest"))
        or (module == "tests" and any(name.startswith("test_") for name in names))
    ]
    assert crossings == []


def test_no_test_sleeps_to_let_time_pass():
    # Time comes from the FrozenClock fixture `clock`; only the fake Twilio server's and the
    # test SMTP server's simulated latency may sleep.
    sleepers = [
        f"{path.name}:{node.lineno}"
        for path in sorted(TESTS.glob("*.py"))
        if path.name not in ("fake_twilio.py", "smtp_server.py")
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Attribute) and node.attr == "sleep"
    ]
    assert sleepers == []
