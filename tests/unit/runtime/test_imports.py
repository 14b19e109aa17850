"""ovnet.runtime has no import cycle (also none hidden in a function body) and never imports the
test bed; ``ovnet down`` reaches the test bed's clean-ups only through the ``ovnet.down`` entry points."""

from __future__ import annotations

import ast
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

import ovnet

ROOT = Path(ovnet.__file__).parent


def _imports(path: Path) -> set[str]:
    """Every ovnet module ``path`` imports, at top level or inside a function."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("ovnet"):
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.startswith("ovnet"))
    return found


def _graph(package: str) -> dict[str, set[str]]:
    modules = {f"{package}.{p.stem}": p for p in (ROOT / package.split(".", 1)[1]).glob("*.py")}
    return {name: _imports(path) & set(modules) for name, path in modules.items()}


def test_runtime_modules_form_no_cycle():
    graph = _graph("ovnet.runtime")
    done: set[str] = set()

    def visit(name: str, path: tuple[str, ...]) -> None:
        assert name not in path, f"import cycle: {' -> '.join(path + (name,))}"
        if name in done:
            return
        for dep in graph[name]:
            visit(dep, path + (name,))
        done.add(name)

    for name in graph:
        visit(name, ())


def test_runtime_and_the_down_command_never_import_the_test_bed():
    for path in [*(ROOT / "runtime").glob("*.py"), ROOT / "cli" / "main.py", ROOT / "cli" / "lifecycle.py",
                 ROOT / "cli" / "host.py"]:
        assert not any(m.startswith("ovnet.testbed") for m in _imports(path)), path
    loaded = subprocess.run([sys.executable, "-c", "import sys, ovnet.runtime.allinone, ovnet.runtime.hosts, "
                             "ovnet.runtime.cleanup; print(sorted(m for m in sys.modules if m.startswith('ovnet.')))"],
                            capture_output=True, text=True, check=True).stdout
    assert "ovnet.testbed" not in loaded


def test_the_test_bed_registers_its_down_hooks():
    hooks = {ep.name: ep.value for ep in entry_points(group="ovnet.down")}
    assert hooks == {"10-demo-docker": "ovnet.testbed.demo:down_hook", "20-vms": "ovnet.testbed.vm:down_hook"}
    for ep in entry_points(group="ovnet.down"):
        assert callable(ep.load())


def test_the_test_bed_registers_its_host_remove_hook():
    hooks = {ep.name: ep.value for ep in entry_points(group="ovnet.host_remove")}
    assert hooks == {"10-demo-containers": "ovnet.testbed.demo:host_remove_hook",
                     "20-vms": "ovnet.testbed.vm:host_remove_hook"}
    for ep in entry_points(group="ovnet.host_remove"):
        assert callable(ep.load())
