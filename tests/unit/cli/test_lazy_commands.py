"""The ``ovnet`` root group imports a command's module only when that command runs: ``ovnet sync``
must not pay for pyroute2, httpx, the agent or the test bed (issue 15: ``sync --check`` <= 3 s at
10,000 ports), while ``ovnet --help`` still lists every command with its help text."""

from __future__ import annotations

import json
import subprocess
import sys

from typer.testing import CliRunner

from ovnet.cli.main import COMMANDS, GRAFTED, app, load_command

HEAVY = ("pyroute2", "httpx", "ovnet.host", "ovnet.testbed", "ovnet.runtime", "ovnet.api")


def _modules_after(*args: str) -> list[str]:
    code = ("import json, sys\nfrom ovnet.cli.main import main\nsys.argv = ['ovnet', *sys.argv[1:]]\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\nprint(json.dumps(sorted(sys.modules)))\n")
    out = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, check=True, timeout=60)
    return json.loads(out.stdout.splitlines()[-1])


def test_sync_imports_none_of_the_other_commands_modules():
    loaded = _modules_after("sync", "--help")
    assert "ovnet.cli.sync" in loaded
    assert [m for m in loaded if m.startswith(HEAVY)] == []
    assert [m for m in loaded if m.startswith("ovnet.cli.") and m not in ("ovnet.cli.main", "ovnet.cli.sync")] == []


def test_root_help_lists_every_command_with_its_help():
    shown = CliRunner().invoke(app, ["--help"], terminal_width=200)
    assert shown.exit_code == 0, shown.output
    for name in COMMANDS:
        summary = (load_command(name).help or "").split("\n")[0].strip()
        assert name in shown.output and summary[:40] in shown.output, name


def test_a_grafted_command_is_in_its_group():
    for (group, name), _spec in GRAFTED.items():
        assert name in load_command(group).commands


def test_an_unknown_command_is_a_usage_error_with_a_suggestion():
    shown = CliRunner().invoke(app, ["snyc"])
    assert shown.exit_code == 2
    assert "Did you mean 'sync'" in shown.output
