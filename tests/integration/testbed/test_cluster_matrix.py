"""The demo's reachability matrix on scaled-out roles: `ovnet up --role central --cluster-size 3`
(NB and SB Raft clusters, three northds) and two `--role compute` hosts. The seed picture
(ovnet.testbed.seed: two projects with the same addresses, two networks each, workloads over two
hypervisors) is built through the API with each project's own token; every workload is a network
namespace here (the demo's Docker, Podman and QEMU kinds need the all-in-one's test bed), and
every ordered pair is probed with real packets (ovnet.testbed.reach)."""

from __future__ import annotations

import pytest

from ovnet.apiclient import ApiClient
from ovnet.host.agentclient import AgentClient
from ovnet.testbed import reach, seed, workload
from tests.helpers.hostnet import wait_status
from tests.helpers.roles import running_roles

pytestmark = [pytest.mark.root, pytest.mark.ovn]


def _build(central, computes, make_netns) -> dict[str, str]:
    """Projects, networks, subnets and bound ports of the seed; returns {workload: netns}."""
    namespaces = {w.name: make_netns("ovcm") for w in seed.WORKLOADS}
    with ApiClient.from_settings(central) as admin:
        tokens = {p: admin.issue_token(admin.create_project(p)["id"]) for p in seed.NETWORKS}
    ports = []
    for project, networks in seed.NETWORKS.items():
        with ApiClient(central.api_endpoints, tokens[project]) as api:
            subnets = {}
            for name, cidr in networks.items():
                net = api.create_network(name=name)
                subnets[name] = api.create_subnet(network_id=net["id"], cidr=cidr, ip_version=4)
            for w in (w for w in seed.WORKLOADS if w.project == project):
                host = computes[w.hypervisor]
                with AgentClient(host.agent_socket) as agent:
                    for nic in w.nics:
                        sub = subnets[nic.network]
                        port = api.create_port(network_id=sub["network_id"], name=f"{w.name}-{nic.ifname}",
                                               fixed_ips=[{"subnet_id": sub["id"], "ip_address": nic.address}])
                        agent.bind(port["id"], "veth", namespaces[w.name], ifname=nic.ifname)
                        ports.append(port["id"])
    with ApiClient.from_settings(central) as admin:
        for port_id in ports:
            assert wait_status(admin, port_id, "ACTIVE", timeout=30) == "ACTIVE"
    return namespaces


def test_the_seed_matrix_holds_on_a_clustered_central_and_two_compute_hosts(tmp_path, make_netns, capsys):
    with running_roles(tmp_path, computes=2, cluster_size=3) as (central, computes):
        namespaces = _build(central, computes, make_netns)
        echoes = [workload.echo_server(ns, name, tmp_path) for name, ns in namespaces.items()]
        try:
            for echo in echoes:
                echo.start()
            cells = reach.measure(namespaces, {}, timeout=1.0)
        finally:
            for echo in echoes:
                echo.stop()
    wrong = [f"{c.src.label} -> {c.dst.label}: expected {c.expected}, ping {c.ping}, echo {c.echo}"
             for c in cells if not c.ok]
    crossing = sum(1 for c in cells if c.expected and seed.crosses(c.src, c.dst))
    with capsys.disabled():
        print(f"\nseed matrix on a 3-member central + 2 compute hosts: {len(cells) - len(wrong)}/{len(cells)} "
              f"cells as expected ({crossing} reachable pairs across Geneve)")
    assert wrong == []
    assert crossing > 0
