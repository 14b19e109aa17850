"""The layer rules of docs/DESIGN.md ("Layers and the rule between them") and no import cycle.

Every ovnet module is imported in a fresh interpreter (so an import-order or circular-import
failure shows), and every import statement of the source, including those inside functions
(which can hide a cycle), is checked against the table:

- ovnet.model imports nothing of ovnet but itself;
- ovnet.api imports only ovnet.model (and itself);
- ovnet.ovn imports only ovnet.model and ovnet.config (and itself);
- ovnet.host never imports ovnet.model nor SQLAlchemy;
- product code never imports ovnet.testbed; the test bed's own commands (``ovnet demo``,
  ``ovnet vm``: cli/demo.py with its printer cli/matrix.py, cli/vm.py) are its front-end and may.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path


ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "ovnet"
TESTBED_FRONTENDS = {"ovnet.cli.demo", "ovnet.cli.matrix", "ovnet.cli.demotrace",  # the demo: printer, trace check
                     "ovnet.cli.vm"}


def _modules() -> dict[str, Path]:
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        if "migrations" in parts:  # Alembic scripts, loaded by Alembic from files, not imported
            continue
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


MODULES = _modules()


def _resolve(name: str) -> str | None:
    """The ovnet module a dotted import name refers to (a module, or the package holding a name)."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def _imports(module: str, path: Path) -> set[str]:
    """Every module an import statement of ``path`` names (anywhere in the file): ovnet modules
    by their module name, others by their top-level name."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{path}:{node.lineno}: ovnet uses absolute imports only"
            base = node.module
            names = [f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base for a in node.names]
        else:
            continue
        for name in names:
            out.add(_resolve(name) if name.split(".")[0] == "ovnet" else name.split(".")[0])
    out.discard(module)
    return out


GRAPH = {m: _imports(m, p) for m, p in MODULES.items()}


def _violations(layer: str, allowed) -> list[str]:
    return sorted(f"{m} imports {dep}" for m, deps in GRAPH.items() if m.startswith(layer + ".") or m == layer
                  for dep in deps if not allowed(dep))


def _inside(dep: str, *packages: str) -> bool:
    return any(dep == p or dep.startswith(p + ".") for p in packages)


def test_every_module_imports_in_a_fresh_interpreter():
    code = ("import importlib, json, sys\nfailed = {}\n"
            f"for name in {sorted(MODULES)!r}:\n"
            "    try:\n        importlib.import_module(name)\n"
            "    except Exception as exc:\n        failed[name] = repr(exc)\n"
            "print(json.dumps(failed))\n")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.splitlines()[-1]) == {}


def test_model_imports_nothing_of_ovnet_but_itself():
    assert _violations("ovnet.model", lambda d: not d.startswith("ovnet") or _inside(d, "ovnet.model")) == []


def test_api_imports_only_model():
    assert _violations("ovnet.api", lambda d: not d.startswith("ovnet") or _inside(d, "ovnet.api", "ovnet.model")) == []


def test_ovn_imports_only_model_and_config():
    assert _violations("ovnet.ovn", lambda d: not d.startswith("ovnet")
                       or _inside(d, "ovnet.ovn", "ovnet.model", "ovnet.config")) == []


def test_host_never_imports_the_model_or_sqlalchemy():
    assert _violations("ovnet.host", lambda d: d != "sqlalchemy" and not _inside(d, "ovnet.model")) == []


def _product_imports_of_testbed() -> list[str]:
    return sorted(f"{m} imports {d}" for m, deps in GRAPH.items()
                  if not _inside(m, "ovnet.testbed") and m not in TESTBED_FRONTENDS
                  for d in deps if _inside(d, "ovnet.testbed"))


def test_product_never_imports_the_testbed():
    assert _product_imports_of_testbed() == []


def _cycles() -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for dep in GRAPH.get(node, ()):
            if dep not in MODULES:
                continue
            if dep not in index:
                visit(dep)
                low[node] = min(low[node], low[dep])
            elif dep in on_stack:
                low[node] = min(low[node], index[dep])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for module in MODULES:
        if module not in index:
            visit(module)
    return sorted(found)


def test_no_import_cycle():
    assert _cycles() == []
