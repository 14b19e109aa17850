"""The reconcile converges workloads to their ports: a fixed IP changed while bound reaches the
namespace, and what an agent killed mid-bind left (a bare workload end, a binding with nothing
plugged) is repaired; a VM's tap kept off the bridge is left alone without a word."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from ovnet.apiclient import ApiClient
from ovnet.host.agentclient import AgentClient
from ovnet.host.vif import veth_host_name
from ovnet.runtime import allinone as aio
from tests.helpers.allinone import running_allinone
from tests.helpers.hostnet import ApiNetwork, ns_run

pytestmark = [pytest.mark.root, pytest.mark.ovn]


def _eth0(ns: str) -> dict:
    return json.loads(ns_run(ns, "ip", "-j", "addr", "show", "dev", "eth0").stdout)[0]


def _global_ipv4(ns: str) -> list[str]:
    return sorted(a["local"] for a in _eth0(ns)["addr_info"] if a["family"] == "inet")


def test_a_fixed_ip_changed_while_bound_reaches_the_namespace(allinone, api, agent, make_netns):
    net = ApiNetwork(api, "10.94.0")
    port = net.port(2)
    ns = make_netns()
    agent.bind(port["id"], "veth", ns)
    assert _global_ipv4(ns) == ["10.94.0.2"]

    api.update_port(port["id"], fixed_ips=[{"subnet_id": net.subnet["id"], "ip_address": "10.94.0.77"}])
    report = agent.reconcile()

    assert report["converged"] == [port["id"]]
    assert _global_ipv4(ns) == ["10.94.0.77"]
    assert "default via 10.94.0.1" in ns_run(ns, "ip", "route").stdout
    assert agent.reconcile()["converged"] == []  # converged stays converged


def test_reconcile_configures_a_workload_end_left_bare_by_a_killed_agent(allinone, api, agent, host, make_netns):
    net = ApiNetwork(api, "10.94.1")
    port = net.port(5)
    ns = make_netns()
    agent.bind(port["id"], "veth", ns)
    # what a kill between moving the peer and configuring it leaves: no address, link down
    ns_run(ns, "ip", "addr", "flush", "dev", "eth0")
    ns_run(ns, "ip", "link", "set", "eth0", "down", "mtu", "1300")

    report = agent.reconcile()

    assert report["converged"] == [port["id"]] and report["unbound"] == []
    eth0 = _eth0(ns)
    assert "UP" in eth0["flags"] and eth0["mtu"] == int(net.network["mtu"])
    assert _global_ipv4(ns) == ["10.94.1.5"]
    assert host.ovs.port_by_id(port["id"]).name == veth_host_name(port["id"])


def test_reconcile_clears_a_binding_with_nothing_plugged(allinone, api, agent, host):
    port = ApiNetwork(api, "10.94.2").port(9)
    # what a kill between setting binding:host_id and plugging leaves
    api.update_port(port["id"], **{"binding:host_id": allinone.chassis_name})

    assert agent.reconcile()["unbound"] == []  # one round could be a plug by hand under way
    assert agent.reconcile()["unbound"] == [port["id"]]
    assert api.show_port(port["id"])["binding:host_id"] == ""
    assert host.ovs.port_by_id(port["id"]) is None


def test_agent_start_clears_a_binding_a_killed_agent_left_unplugged(allinone, api, agent):
    service = next(s for s in aio.services(allinone) if s.name == "ovnet-agent")
    port = ApiNetwork(api, "10.94.3").port(9)
    os.kill(service.pid(), signal.SIGKILL)
    api.update_port(port["id"], **{"binding:host_id": allinone.chassis_name})

    service.start()  # its start-up reconcile runs before it serves

    assert api.show_port(port["id"])["binding:host_id"] == ""


@pytest.fixture
def periodic_allinone(tmp_path):
    with running_allinone(tmp_path) as settings:  # the default agent_sync_interval
        yield settings


def test_the_periodic_reconcile_moves_a_changed_fixed_ip_by_itself(periodic_allinone, make_netns):
    settings = periodic_allinone
    ns = make_netns()
    with ApiClient.from_settings(settings) as api, AgentClient(settings.agent_socket) as agent:
        net = ApiNetwork(api, "10.94.4")
        port = net.port(2)
        agent.bind(port["id"], "veth", ns)

        api.update_port(port["id"], fixed_ips=[{"subnet_id": net.subnet["id"], "ip_address": "10.94.4.77"}])

    deadline = time.monotonic() + 4 * settings.agent_sync_interval
    while _global_ipv4(ns) != ["10.94.4.77"] and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _global_ipv4(ns) == ["10.94.4.77"]


def test_reconcile_keeps_addresses_of_allowed_address_pairs(allinone, api, agent, make_netns):
    net = ApiNetwork(api, "10.94.5")
    port = net.port(3, allowed_address_pairs=[{"ip_address": "10.94.5.100"}])
    ns = make_netns()
    agent.bind(port["id"], "veth", ns)
    ns_run(ns, "ip", "addr", "add", "10.94.5.100/24", "dev", "eth0")  # the workload's VIP
    ns_run(ns, "ip", "addr", "add", "10.94.5.200/24", "dev", "eth0")  # not the port's to carry

    assert agent.reconcile()["converged"] == [port["id"]]

    assert _global_ipv4(ns) == ["10.94.5.100", "10.94.5.3"]
    assert agent.reconcile()["converged"] == []


# Opens a tap the way QEMU does and holds it until its stdin closes (standard library only).
HOLD_TAP = """
import fcntl, os, struct, sys
fd = os.open("/dev/net/tun", os.O_RDWR)
fcntl.ioctl(fd, 0x400454CA, struct.pack("16sH", sys.argv[1].encode(), 0x0002 | 0x1000))
print("held", flush=True)
sys.stdin.read()
"""


def test_a_vms_tap_kept_off_the_bridge_is_reported_once_not_every_round(allinone, api, agent, host):
    port = ApiNetwork(api, "10.94.4").port(7)
    tap = "tapk" + port["id"][:8]
    agent.bind(port["id"], "tap", tap)
    holder = subprocess.Popen(["nsenter", f"--net=/run/netns/{allinone.netns}", sys.executable, "-c", HOLD_TAP, tap],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        agent.unbind(port["id"])  # takes the tap off the bridge and keeps it: the VM holds it

        rounds = [agent.reconcile()["removed"] for _ in range(3)]

        assert rounds == [[], [], []]  # nothing was removed, so nothing is said, round after round
        with host.iproute() as ipr:
            assert ipr.link_lookup(ifname=tap), "the VM's tap was deleted"
        assert host.ovs.port_by_id(port["id"]) is None
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)
