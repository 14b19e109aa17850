"""Pools and networks ovnet chooses or already has: auto pools (no --subnet), adopting an existing
ovnet network (-o / --ipam-opt ovnet.network=<name|id>, never deleted by Docker), and Docker's
built-in IPAM under the ovnet network driver."""

from __future__ import annotations

import ipaddress
import secrets

import pytest

from ovnet.apiclient import ApiError

pytestmark = [pytest.mark.root, pytest.mark.ovn, pytest.mark.docker]


def test_auto_pools_for_v4_and_v6(ovnet_docker):
    d = ovnet_docker
    first, _ = d.network_create("--ipv6")
    second, _ = d.network_create()
    try:
        cidrs = {}
        for name in (first, second):
            subnets = d.api.list_subnets(network_id=d.ovnet_network(name)["id"])
            cidrs[name] = sorted((s["ip_version"], ipaddress.ip_network(s["cidr"])) for s in subnets)
        assert [v for v, _ in cidrs[first]] == [4, 6] and [v for v, _ in cidrs[second]] == [4]
        assert cidrs[first][0][1] != cidrs[second][0][1]  # auto pools never overlap
        assert cidrs[first][0][1].subnet_of(ipaddress.ip_network("10.192.0.0/12"))
        out = d.docker("run", "--rm", "--network", first, "bb", "ip", "-o", "addr", "show", "eth0").stdout
        assert f"inet {cidrs[first][0][1].network_address + 2}/24" in out and "inet6 fd6f:766e:6574:" in out
    finally:
        d.docker("network", "rm", first, second, check=False)


@pytest.mark.parametrize("how", ["opt-and-subnet", "ipam-opt-only"])
def test_adopted_network_is_used_and_never_deleted(ovnet_docker, how):
    d = ovnet_docker
    existing = d.api.create_network(name=f"prod-{secrets.token_hex(3)}")
    subnet = d.api.create_subnet(network_id=existing["id"], cidr="10.84.0.0/24", ip_version=4,
                                 gateway_ip="10.84.0.254", host_routes=[{"destination": "10.99.0.0/16",
                                                                         "nexthop": "10.84.0.253"}])
    args = (["-o", f"ovnet.network={existing['name']}", "--subnet", "10.84.0.0/24", "--gateway", "10.84.0.254"]
            if how == "opt-and-subnet" else ["--ipam-opt", f"ovnet.network={existing['id']}"])
    name, _ = d.network_create(*args)
    try:
        assert d.ovnet_network(name)["id"] == existing["id"]
        out = d.docker("run", "--rm", "--network", name, "bb", "sh", "-c", "ip -o addr show eth0; ip route").stdout
        assert "inet 10.84.0." in out and "default via 10.84.0.254" in out
        assert "10.99.0.0/16 via 10.84.0.253" in out  # StaticRoutes from the subnet's host_routes
        gateway = d.docker("network", "inspect", "-f", "{{range .IPAM.Config}}{{.Gateway}}{{end}}", name).stdout
        assert gateway.strip() == "10.84.0.254"
    finally:
        d.docker("network", "rm", name)
    kept = d.api.show_network(existing["id"])
    assert not [t for t in kept["tags"] if t.startswith("docker.")]
    assert not [t for t in d.api.show_subnet(subnet["id"])["tags"] if t.startswith("docker.")]
    d.api.delete_network(existing["id"])


def test_an_adopted_network_cannot_be_deleted_under_its_docker_network(ovnet_docker):
    """Issue 15: deleting the ovnet network under an adopting Docker network is refused (409 naming
    the Docker network); one deleted anyway (its tag removed by hand) is named as deleted."""
    d = ovnet_docker
    existing = d.api.create_network(name=f"shared-{secrets.token_hex(3)}")
    d.api.create_subnet(network_id=existing["id"], cidr="10.83.0.0/24", ip_version=4)
    name, _ = d.network_create("-o", f"ovnet.network={existing['name']}", "--subnet", "10.83.0.0/24")
    try:
        docker_id = d.docker("network", "inspect", "-f", "{{.Id}}", name).stdout.strip()
        with pytest.raises(ApiError) as refused:
            d.api.delete_network(existing["id"])
        assert refused.value.status == 409 and f"docker-network:{docker_id[:12]}" in refused.value.message
        d.api.remove_tag("networks", existing["id"], f"in-use-by:docker-network:{docker_id[:12]}")
        d.api.delete_network(existing["id"])
        done = d.docker("run", "--rm", "--network", name, "bb", "true", check=False)
        assert done.returncode != 0 and "was deleted in ovnet" in done.stderr
    finally:
        d.docker("network", "rm", name, check=False)
    assert not d.api.list_networks(id=existing["id"])


def test_adopting_with_a_subnet_the_network_lacks_is_refused(ovnet_docker):
    d = ovnet_docker
    existing = d.api.create_network(name=f"prod-{secrets.token_hex(3)}")
    d.api.create_subnet(network_id=existing["id"], cidr="10.85.0.0/24", ip_version=4)
    try:
        _, done = d.network_create("-o", f"ovnet.network={existing['id']}", "--subnet", "10.86.0.0/24", check=False)
        assert done.returncode != 0 and "has no subnet 10.86.0.0/24" in done.stderr
        assert d.api.show_network(existing["id"])["tags"] == []
    finally:
        d.api.delete_network(existing["id"])


def test_network_driver_with_dockers_builtin_ipam(ovnet_docker):
    d = ovnet_docker
    name = f"dn-{secrets.token_hex(3)}"
    d.docker("network", "create", "-d", d.plugin, "--subnet", "10.87.0.0/24", name)
    try:
        net = d.ovnet_network(name)
        out = d.docker("run", "--rm", "--network", name, "bb", "sh", "-c", "ip -o addr show eth0; ip -o link").stdout
        assert "inet 10.87.0.2/24" in out
        assert d.api.list_ports(network_id=net["id"]) == []  # the port made by CreateEndpoint went with it
    finally:
        d.docker("network", "rm", name)
    assert d.api.list_networks(id=net["id"]) == []
