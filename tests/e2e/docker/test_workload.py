"""One network for everything: a Docker container and a namespace workload bound by an ovnet agent
on the same ovnet network reach each other, on one hypervisor and across two (Geneve)."""

from __future__ import annotations

import secrets
import subprocess

import pytest
from pyroute2 import netns

from ovnet.host.agent import agent_socket
from ovnet.host.agentclient import AgentClient
from ovnet.runtime import hosts

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
    agent = AgentClient(agent_socket(agent_settings))
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
