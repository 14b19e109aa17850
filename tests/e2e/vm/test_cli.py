"""``ovnet vm run|list|rm`` and ``ovnet down`` with a VM running, through the real CLI code."""

from __future__ import annotations

import secrets

import pytest
from typer.testing import CliRunner

from ovnet.cli.main import app
from ovnet.runtime.process import pid_alive
from ovnet.testbed import vm as vm_mod
from tests.helpers.hostnet import ApiNetwork

pytestmark = [pytest.mark.root, pytest.mark.ovn, pytest.mark.qemu]


def ovnet(settings, *args: str):
    return CliRunner().invoke(app, [*args, "--state-dir", str(settings.state_dir)])


def test_vm_commands_and_down(allinone, api, vms):
    net = ApiNetwork(api, "10.87.0")
    first, second = net.port(10), net.port(11)
    name = f"cli-{secrets.token_hex(2)}"

    done = ovnet(allinone, "vm", "run", name, "--port", first["id"], "--wait", "180")
    assert done.exit_code == 0, done.output
    assert f"MAC {first['mac_address']}" in done.output
    assert "lease: ip=10.87.0.10 mask=24 router=10.87.0.1" in done.output
    listed = ovnet(allinone, "vm", "list")
    assert listed.exit_code == 0 and name in listed.output and "10.87.0.10" in listed.output

    again = ovnet(allinone, "vm", "run", name, "--port", second["id"])
    assert again.exit_code == 1 and f"error: VM {name} exists" in again.output
    no_image = ovnet(allinone, "vm", "run", "other", "--port", second["id"], "--image", "/nonexistent")
    assert no_image.exit_code == 1 and "error: no VM image at /nonexistent" in no_image.output

    removed = ovnet(allinone, "vm", "rm", name)
    assert removed.exit_code == 0 and f"port {first['id']} unbound" in removed.output
    assert ovnet(allinone, "vm", "rm", name).exit_code == 1

    later = ovnet(allinone, "vm", "run", f"{name}-b", "--port", second["id"])
    assert later.exit_code == 0, later.output
    pid = vm_mod.load_record(allinone, f"{name}-b").pid()
    assert pid_alive(pid)
    down = ovnet(allinone, "down")
    assert down.exit_code == 0 and f"VM {name}-b stopped" in down.output
    assert not pid_alive(pid) and vm_mod.list_records(allinone) == []
