"""The test tree's own rules: a test file imports from tests/ only the shared helpers
(tests.helpers) or its own directory's conftest, never another test module or another
directory's conftest; fixtures shared by several directories live in a conftest above them;
``wait_for`` is defined once, in tests/helpers/wait.py."""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]


def _modules():
    for path in sorted(TESTS.rglob("*.py")):
        yield path, ast.parse(path.read_text())


def test_tests_import_only_helpers_or_their_own_conftest():
    wrong = []
    for path, tree in _modules():
        own = ".".join(("tests", *path.parent.relative_to(TESTS).parts, "conftest"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "tests":
                if not (node.module.startswith("tests.helpers") or node.module == own):
                    wrong.append(f"{path.relative_to(TESTS)}: from {node.module}")
    assert wrong == []


def test_one_wait_for():
    defined = [str(path.relative_to(TESTS)) for path, tree in _modules() for node in ast.walk(tree)
               if isinstance(node, ast.FunctionDef) and node.name == "wait_for"]
    assert defined == ["helpers/wait.py"]
