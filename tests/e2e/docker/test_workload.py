"""One network for everything: a Docker container and a namespace workload bound by an ovnet agent
on the same ovnet network reach each other, on one hypervisor and across two (Geneve); so do the
containers of two dockerds on two hypervisors."""

from __future__ import annotations

import secrets
import subprocess
import time

import pytest
from pyroute2 import netns
from ovnet.host.agentclient import AgentClient
from ovnet.runtime import hosts
from ovnet.testbed.dockerd import PrivateDockerd

pytestmark = [pytest.mark.root, pytest.mark.ovn, pytest.mark.docker]


def ns_ping(ns: str, address: str) -> None:
    subprocess.run(["nsenter", f"--net=/run/netns/{ns}", "ping", "-c", "3", "-W", "2", address], check=True,
                   capture_output=True, timeout=30)


@pytest.fixture
def workload_ns():
    name = f"ovw-{secrets.token_hex(4)}"
    netns.create(name)
    yield name
    if name in netns.listnetns():
        netns.remove(name)


def _container_and_workload(d, agent_settings, ns: str, prefix: str) -> None:
    network, _ = d.network_create("--subnet", f"{prefix}.0/24")
    container = f"{network}-c"
    net = d.ovnet_network(network)
    subnet = d.api.list_subnets(network_id=net["id"])[0]
    port = d.api.create_port(network_id=net["id"], name="namespace-workload",
                             fixed_ips=[{"subnet_id": subnet["id"], "ip_address": f"{prefix}.100"}])
    agent = AgentClient(agent_settings.agent_socket)
    try:
        agent.bind(port["id"], "veth", ns)
        d.docker("run", "-d", "--name", container, "--network", network, "--ip", f"{prefix}.10", "bb",
                 "sleep", "600")
        d.docker("exec", container, "ping", "-c", "3", "-W", "2", f"{prefix}.100")
        ns_ping(ns, f"{prefix}.10")
    finally:
        d.docker("rm", "-f", container, check=False)
        agent.unbind(port["id"])
        agent.close()
        d.api.delete_port(port["id"])
        d.docker("network", "rm", network, check=False)


def test_container_and_namespace_workload_on_one_host(ovnet_docker, workload_ns):
    _container_and_workload(ovnet_docker, ovnet_docker.settings, workload_ns, "10.82.0")


def test_container_and_namespace_workload_across_two_hypervisors(ovnet_docker, workload_ns):
    d = ovnet_docker
    name = f"hv{secrets.token_hex(3)}"
    status = hosts.add(d.settings, name)
    try:
        assert status.healthy, status.services
        _container_and_workload(d, hosts.host_settings(d.settings, name), workload_ns, "10.83.0")
    finally:
        hosts.remove(d.settings, name)


def test_containers_of_two_dockerds_on_two_hypervisors_share_one_ovnet_network(ovnet_docker):
    """Host 1's Docker network makes the ovnet network; host 2's dockerd (its own plugin name)
    adopts it by --ipam-opt ovnet.network; their containers talk across Geneve."""
    d = ovnet_docker
    name = f"hv{secrets.token_hex(3)}"
    network, _ = d.network_create("--subnet", "10.88.0.0/24")
    net = d.ovnet_network(network)
    status = hosts.add(d.settings, name)
    second = PrivateDockerd(netns=hosts.host_settings(d.settings, name).netns)
    try:
        assert status.healthy, status.services
        plugin2 = hosts.host_settings(d.settings, name).docker_plugin
        second.start()
        second.import_busybox("bb:latest")
        second.docker("network", "create", "-d", plugin2, "--ipam-driver", plugin2, "--subnet", "10.88.0.0/24",
                      "--ipam-opt", f"ovnet.network={net['id']}", "shared")
        d.docker("run", "-d", "--name", f"{network}-one", "--network", network, "--ip", "10.88.0.10", "bb",
                 "sleep", "600")
        second.docker("run", "-d", "--name", "two", "--network", "shared", "--ip", "10.88.0.20", "bb", "sleep", "600")
        ports = {p["fixed_ips"][0]["ip_address"]: p["binding:host_id"]
                 for p in d.api.list_ports(network_id=net["id"])}
        assert ports == {"10.88.0.10": d.settings.chassis_name, "10.88.0.20": name}
        second.docker("exec", "two", "ping", "-c", "3", "-W", "2", "10.88.0.10")
        d.docker("exec", f"{network}-one", "ping", "-c", "3", "-W", "2", "10.88.0.20")
        time.sleep(2 * d.settings.sync_interval + 1)  # two GC rounds of both agents: nothing of this is stale
        assert len(d.api.list_ports(network_id=net["id"])) == 2
        second.docker("exec", "two", "ping", "-c", "1", "-W", "2", "10.88.0.10")
        second.docker("rm", "-f", "two")
        second.docker("network", "rm", "shared")
        assert d.api.show_network(net["id"])["id"] == net["id"]  # adopted: host 2 never deletes it
    finally:
        second.destroy()
        hosts.remove(d.settings, name)
        d.docker("rm", "-f", f"{network}-one", check=False)
        d.docker("network", "rm", network, check=False)
