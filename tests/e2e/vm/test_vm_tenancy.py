"""``vm run`` with a caller's token: another project's port is not found, whatever state it is in."""

from __future__ import annotations

import subprocess
import sys

import pytest

from ovnet.apiclient import ApiError
from tests.helpers.hostnet import ApiNetwork

pytestmark = [pytest.mark.root, pytest.mark.ovn, pytest.mark.qemu]


def test_vm_run_on_another_projects_plugged_port_is_port_not_found(allinone, api, agent, make_netns, vms):
    out = subprocess.run([sys.executable, "-m", "ovnet.cli.main", "project", "create", "vm-tenant",
                          "--state-dir", str(allinone.state_dir)], capture_output=True, text=True, check=True,
                         timeout=60).stdout
    token = next(line.split(": ", 1)[1] for line in out.splitlines() if line.startswith("token: "))
    port = ApiNetwork(api, "10.91.0").port(10)  # the admin project's, plugged into a namespace
    agent.bind(port["id"], "veth", make_netns())

    with pytest.raises(ApiError) as refused:
        vms("snoop", port["id"], token=token)

    assert refused.value.status == 404 and refused.value.type == "PortNotFound"
    assert "plugged" not in refused.value.message
    assert [b["port_id"] for b in agent.bindings()] == [port["id"]]
