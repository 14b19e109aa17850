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


def _addresses(d, network: str, *run_args: str) -> str:
    return d.docker("run", "--rm", "--network", network, *run_args, "bb", "sh", "-c",
                    "ip -o addr show eth0; ip route; ip -6 route; ip -o link show eth0").stdout


def test_dual_stack_ip_range_aux_internal_and_opts(ovnet_docker):
    d = ovnet_docker
    name, _ = d.network_create("--ipv6", "--subnet", "10.62.5.0/24", "--ip-range", "10.62.5.128/25",
                               "--gateway", "10.62.5.1", "--aux-address", "host1=10.62.5.10",
                               "--aux-address", "host2=10.62.5.140", "--subnet", "fd00:62::/64",
                               "--opt", "foo=bar", "--opt", "com.docker.network.driver.mtu=1400",
                               "--ipam-opt", "x=y", "--internal")
    net = d.ovnet_network(name)
    assert net["mtu"] == 1400
    subnets = {s["ip_version"]: s for s in d.api.list_subnets(network_id=net["id"])}
    assert subnets[4]["cidr"] == "10.62.5.0/24" and subnets[6]["cidr"] == "fd00:62::/64"
    assert subnets[4]["gateway_ip"] is None and subnets[6]["gateway_ip"] is None  # --internal
    assert subnets[4]["allocation_pools"] == [{"start": "10.62.5.128", "end": "10.62.5.139"},
                                              {"start": "10.62.5.141", "end": "10.62.5.254"}]
    out = _addresses(d, name)
    v4 = [w for w in out.split() if w.startswith("10.62.5.")][0]
    assert 128 <= int(v4.split("/")[0].rsplit(".", 1)[1]) <= 254 and v4.endswith("/24")
    assert "inet6 fd00:62::" in out and "mtu 1400" in out
    assert "default" not in out  # internal: no gateway, no default route
    out = _addresses(d, name, "--ip", "10.62.5.200", "--ip6", "fd00:62::50")
    assert "inet 10.62.5.200/24" in out and "inet6 fd00:62::50/64" in out
    refused = d.docker("run", "--rm", "--network", name, "--ip", "10.62.5.10", "bb", "true", check=False)
    assert refused.returncode != 0 and "reserved as an aux address" in refused.stderr
    d.docker("network", "rm", name)
    assert d.api.list_networks(id=net["id"]) == []


def test_several_subnets_and_default_gateway_route(ovnet_docker):
    d = ovnet_docker
    name, _ = d.network_create("--subnet", "10.63.1.0/28", "--subnet", "10.63.2.0/24", "--ipv6",
                               "--subnet", "fd00:63::/64", "--gateway", "fd00:63::fe")
    net = d.ovnet_network(name)
    cidrs = sorted(s["cidr"] for s in d.api.list_subnets(network_id=net["id"]))
    assert cidrs == ["10.63.1.0/28", "10.63.2.0/24", "fd00:63::/64"]
    out = _addresses(d, name)
    assert "default via fd00:63::fe dev eth0" in out
    assert "default via 10.63." in out
    d.docker("network", "rm", name)


def test_static_ip_and_mac_address_and_taken_ip_is_refused_with_our_error(ovnet_docker):
    d = ovnet_docker
    name, _ = d.network_create("--subnet", "10.64.0.0/24")
    net = d.ovnet_network(name)
    d.docker("run", "-d", "--name", f"{name}-a", "--network", name, "--ip", "10.64.0.50",
             "--mac-address", "02:5a:01:00:00:50", "bb", "sleep", "600")
    try:
        port = d.api.list_ports(network_id=net["id"])[0]
        assert port["mac_address"] == "02:5a:01:00:00:50"
        assert [f["ip_address"] for f in port["fixed_ips"]] == ["10.64.0.50"]
        assert port["binding:host_id"] == d.settings.chassis_name and port["device_owner"] == "compute:docker"
        inside = d.docker("exec", f"{name}-a", "ip", "-o", "link", "show", "eth0").stdout
        assert "02:5a:01:00:00:50" in inside
        taken = d.docker("run", "--rm", "--network", name, "--ip", "10.64.0.50", "bb", "true", check=False)
        assert taken.returncode != 0
        assert "cannot allocate 10.64.0.50 in 10.64.0.0/24" in taken.stderr
        assert len(d.api.list_ports(network_id=net["id"])) == 1  # the refused run left nothing
    finally:
        d.docker("rm", "-f", f"{name}-a")
    assert d.api.list_ports(network_id=net["id"]) == []
    d.docker("network", "rm", name)


def test_containers_reach_each_other_and_connect_disconnect(ovnet_docker):
    d = ovnet_docker
    n1, _ = d.network_create("--subnet", "10.65.1.0/24")
    n2, _ = d.network_create("--subnet", "10.65.2.0/24")
    a, b = f"{n1}-a", f"{n1}-b"
    try:
        d.docker("run", "-d", "--name", a, "--network", n1, "--ip", "10.65.1.10", "bb", "sleep", "600")
        d.docker("run", "-d", "--name", b, "--network", n2, "--ip", "10.65.2.10", "bb", "sleep", "600")
        assert d.docker("exec", b, "ping", "-c", "1", "-W", "2", "10.65.1.10", check=False).returncode != 0
        d.docker("network", "connect", "--ip", "10.65.1.20", n1, b)
        assert "inet 10.65.1.20/24" in d.docker("exec", b, "ip", "-o", "addr").stdout
        d.docker("exec", b, "ping", "-c", "3", "-W", "2", "10.65.1.10")
        d.docker("exec", a, "ping", "-c", "3", "-W", "2", "10.65.1.20")
        d.docker("network", "disconnect", n1, b)
        assert "10.65.1.20" not in d.docker("exec", b, "ip", "-o", "addr").stdout
        assert len(d.api.list_ports(network_id=d.ovnet_network(n1)["id"])) == 1
        d.docker("exec", b, "ping", "-c", "1", "-W", "2", "10.65.2.10")  # its first network still works
    finally:
        d.docker("rm", "-f", a, b, check=False)
        d.docker("network", "rm", n1, n2, check=False)


def test_publish_ports_does_not_break_a_run(ovnet_docker):
    d = ovnet_docker
    name, _ = d.network_create("--subnet", "10.66.0.0/24")
    out = d.docker("run", "--rm", "--network", name, "-p", "127.0.0.1:18080:80/tcp", "--expose", "9090",
                   "bb", "ip", "-o", "addr", "show", "eth0").stdout
    assert "inet 10.66.0." in out
    d.docker("network", "rm", name)
