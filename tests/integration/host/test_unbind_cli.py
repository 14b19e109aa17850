"""``ovnet port unbind`` finds the host from the port's binding:host_id, and still clears a binding
whose host no longer exists."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys

import pytest
from ovnet.host.agentclient import AgentClient
from ovnet.runtime import hosts
from tests.helpers.hostnet import ApiNetwork

pytestmark = [pytest.mark.root, pytest.mark.ovn]


def ovnet(settings, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ovnet.cli.main", *args, "--state-dir", str(settings.state_dir)],
                          capture_output=True, text=True, timeout=120, env={**os.environ, **(env or {})})


def test_unbind_of_a_port_bound_to_a_removed_host_clears_its_binding(allinone, api, agent, make_netns):
    port = ApiNetwork(api, "10.93.0").port(10)
    gone = f"hv{secrets.token_hex(3)}"  # a chassis name no `ovnet host` record has (removed)
    api.update_port(port["id"], **{"binding:host_id": gone})

    done = ovnet(allinone, "port", "unbind", port["id"])

    assert done.returncode == 0, done.stderr
    assert api.show_port(port["id"])["binding:host_id"] == ""


def test_unbind_without_host_uses_the_ports_own_host(allinone, api, agent, make_netns):
    port = ApiNetwork(api, "10.93.1").port(10)
    agent.bind(port["id"], "veth", make_netns())

    done = ovnet(allinone, "port", "unbind", port["id"])

    assert done.returncode == 0, done.stderr
    assert api.show_port(port["id"])["binding:host_id"] == ""
    assert agent.bindings() == []


def test_unbind_of_another_projects_port_at_a_removed_host_is_port_not_found(allinone, api):
    out = ovnet(allinone, "project", "create", "unbind-m").stdout
    token = next(line.split(": ", 1)[1] for line in out.splitlines() if line.startswith("token: "))
    port = ApiNetwork(api, "10.93.2").port(10)
    api.update_port(port["id"], **{"binding:host_id": "hvgone"})

    done = ovnet(allinone, "port", "unbind", port["id"], env={"OS_TOKEN": token})

    assert done.returncode == 1 and "PortNotFound" in done.stderr
    assert api.show_port(port["id"])["binding:host_id"] == "hvgone"


def test_unbind_without_host_reaches_the_added_host_and_then_a_removed_one(allinone, api, make_netns):
    name = f"hu{secrets.token_hex(3)}"
    hosts.add(allinone, name)
    try:
        other = hosts.host_settings(allinone, name)
        net = ApiNetwork(api, "10.93.3")
        first, second = net.port(10), net.port(11)
        with AgentClient(other.agent_socket) as agent:
            for port in (first, second):
                agent.bind(port["id"], "veth", make_netns())

            done = ovnet(allinone, "port", "unbind", first["id"])

            assert done.returncode == 0, done.stderr
            assert api.show_port(first["id"])["binding:host_id"] == ""
            assert [b["port_id"] for b in agent.bindings()] == [second["id"]]
    finally:
        hosts.remove(allinone, name)

    done = ovnet(allinone, "port", "unbind", second["id"])

    assert done.returncode == 0, done.stderr
    assert api.show_port(second["id"])["binding:host_id"] == ""
