"""OVN is derived (issue 15): with NB's or SB's database file deleted and ``ovnet up`` run, the
syncer rebuilds NB from the model (ovn-northd and the ovn-controllers rebuild SB), every bound port
turns ACTIVE again, the workloads on two chassis reach each other again, and ``ovnet check`` finds
nothing."""

from __future__ import annotations

import time

import pytest
from pyroute2 import netns as pyroute_netns

from ovnet.apiclient import ApiClient
from ovnet.cli.check import collect
from ovnet.host.agentclient import AgentClient
from ovnet.runtime import hosts
from tests.helpers.allinone import running_allinone
from tests.helpers.hostnet import ApiNetwork, ns_run
from tests.helpers.wait import wait_for
from tests.helpers.wipe import wipe

pytestmark = [pytest.mark.root, pytest.mark.ovn]
RECOVERY_S = 90.0  # a loaded 2-core machine; the time taken is printed


@pytest.fixture(scope="module")
def two_chassis(tmp_path_factory):
    """An all-in-one plus host hv<tag> with one namespace workload on each, on one network;
    yields (settings, api, [(port, netns)...]). Module-scoped (adding a host is slow), so it makes
    its namespaces itself rather than through the function-scoped make_netns."""
    with running_allinone(tmp_path_factory.mktemp("wipe")) as settings:
        name = f"hv{settings.chassis_name[-4:]}"
        hosts.add(settings, name)
        sockets = [settings.agent_socket, hosts.host_settings(settings, name).agent_socket]
        made = []
        with ApiClient.from_settings(settings) as api:
            try:
                net = ApiNetwork(api, "10.63.0")
                workloads = []
                for octet, sock in zip((2, 3), sockets):
                    ns = f"ovw-wipe-{settings.chassis_name[-6:]}-{octet}"
                    pyroute_netns.create(ns)
                    made.append(ns)
                    ns_run(ns, "ip", "link", "set", "lo", "up")
                    port = net.port(octet)
                    with AgentClient(sock) as agent:
                        agent.bind(port["id"], "veth", ns)
                    workloads.append((port, ns))
                yield settings, api, workloads
            finally:
                for ns in made:
                    pyroute_netns.remove(ns)


def _recovered(api: ApiClient, workloads) -> bool:
    if any(api.show_port(port["id"])["status"] != "ACTIVE" for port, _ in workloads):
        return False
    (_, first), (second, _) = workloads
    ip = second["fixed_ips"][0]["ip_address"]
    return ns_run(first, "ping", "-c", "1", "-W", "1", ip, check=False).returncode == 0


@pytest.mark.parametrize("which", ["nb", "sb"])
def test_a_wiped_database_is_rebuilt_and_traffic_resumes(two_chassis, which):
    settings, api, workloads = two_chassis
    assert wait_for(lambda: _recovered(api, workloads), RECOVERY_S), "not working before the wipe"
    assert collect(settings) == []

    started = time.monotonic()
    wipe(settings, which)
    assert wait_for(lambda: _recovered(api, workloads), RECOVERY_S, 0.2), f"not recovered after the {which} wipe"
    took = time.monotonic() - started
    print(f"\n{which.upper()} wipe: ports ACTIVE and traffic back {took:.1f} s after the wipe (incl. ovnet up)")

    seen: list[dict] = []
    assert wait_for(lambda: _no_findings(settings, seen), 30.0, 1.0), seen


def _no_findings(settings, seen: list[dict]) -> bool:
    seen[:] = collect(settings)
    return not seen
