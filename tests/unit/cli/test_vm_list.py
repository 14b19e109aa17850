"""``ovnet vm list`` prints a header row as the other list commands do (new-user finding: bare rows)."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from ovnet.cli.main import app
from ovnet.config import Settings
from ovnet.testbed import vm as vms


def _record(settings: Settings, name: str, *port_ids: str) -> None:
    folder = vms.vm_dir(settings)
    folder.mkdir(parents=True, exist_ok=True)
    nics = [{"port_id": p, "tap": f"tap{p[:11]}", "mac": "02:00:00:00:00:01"} for p in port_ids]
    (folder / f"{name}.json").write_text(json.dumps({
        "name": name, "nics": nics, "host": "hv1", "netns": None, "pidfile": str(folder / f"{name}.pid"),
        "console": str(folder / f"{name}.console"), "shell": str(folder / f"{name}.sock")}))


def test_vm_list_has_a_header_row_then_one_row_per_vm(tmp_path):
    settings = Settings(state_dir=tmp_path)
    empty = CliRunner().invoke(app, ["vm", "list", "--state-dir", str(tmp_path)])
    assert empty.exit_code == 0, empty.output
    header = ["name", "state", "host", "ports", "taps", "lease"]
    assert [cell for cell in empty.output.splitlines()[1].split() if cell != "┃"] == header
    _record(settings, "vm1", "11111111-aaaa-4000-8000-000000000001")
    _record(settings, "vm2", "22222222-bbbb-4000-8000-000000000002", "33333333-cccc-4000-8000-000000000003")
    listed = CliRunner().invoke(app, ["vm", "list", "--state-dir", str(tmp_path)])
    assert listed.exit_code == 0, listed.output
    lines = listed.output.splitlines()
    assert lines[1].split() == empty.output.splitlines()[1].split()
    rows = [line.replace("│", " ").split() for line in lines if "vm1" in line or "vm2" in line]
    assert rows == [["vm1", "stopped", "hv1", "11111111-aaaa-4000-8000-000000000001", "tap11111111-aa", "-"],
                    ["vm2", "stopped", "hv1", "22222222-bbbb-4000-8000-000000000002,",
                     "33333333-cccc-4000-8000-000000000003", "tap22222222-bb,", "tap33333333-cc", "-"]]
