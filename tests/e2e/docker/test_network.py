"""Docker networks and containers on ovnet, end to end with a real dockerd (libnetwork.md A.7)."""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.root, pytest.mark.ovn, pytest.mark.docker]


def test_create_run_rm_one_subnet(ovnet_docker):
    d = ovnet_docker
    name, _ = d.network_create("--subnet", "10.61.0.0/24", "--gateway", "10.61.0.1")
    net = d.ovnet_network(name)
    subnets = d.api.list_subnets(network_id=net["id"])
    assert [(s["cidr"], s["gateway_ip"]) for s in subnets] == [("10.61.0.0/24", "10.61.0.1")]
    out = d.docker("run", "--rm", "--network", name, "bb", "sh", "-c", "ip -o addr show eth0; ip route").stdout
    assert "inet 10.61.0.2/24" in out
    assert f"mtu {net['mtu']}" in d.docker("run", "--rm", "--network", name, "bb", "ip", "link", "show",
                                            "eth0").stdout
    assert "default via 10.61.0.1 dev eth0" in out
    assert d.api.list_ports(network_id=net["id"]) == []  # --rm: endpoint and address released
    d.docker("network", "rm", name)
    assert d.api.list_networks(id=net["id"]) == []
