"""Projects and bad input: two Docker networks in two projects (named by project name) with the same
subnet and the same container addresses stay apart; a project named by id still works; an unknown
project name or malformed plugin requests get a clean error and create nothing."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

from ovnet.host.docker.server import plugin_socket
from tests.helpers.docker_http import post

pytestmark = [pytest.mark.root, pytest.mark.ovn, pytest.mark.docker]


def create_project(settings, name: str) -> str:
    out = subprocess.run([sys.executable, "-m", "ovnet.cli.main", "project", "create", name, "--state-dir",
                          str(settings.state_dir)], capture_output=True, text=True, check=True, timeout=60).stdout
    return re.search(r"project: \S+ \(([0-9a-f-]{36})\)", out).group(1)


def neighbour_mac(d, container: str, address: str) -> str:
    out = d.docker("exec", container, "ip", "neigh", "show", address).stdout
    return re.search(r"lladdr ([0-9a-f:]{17})", out).group(1)


def test_same_subnet_and_addresses_in_two_projects_stay_isolated(ovnet_docker):
    d = ovnet_docker
    ids = {name: create_project(d.settings, name) for name in ("blue", "red")}
    blue, red = ids["blue"], ids["red"]
    nets, made = {}, []
    try:
        for name, project in ids.items():
            nets[project], _ = d.network_create("--subnet", "10.70.0.0/24", "-o", f"ovnet.project={name}",
                                                "--ipam-opt", f"ovnet.project={name}")
            assert d.ovnet_network(nets[project])["project_id"] == project
            for last in (5, 6):
                name = f"{nets[project]}-{last}"
                d.docker("run", "-d", "--name", name, "--network", nets[project], "--ip", f"10.70.0.{last}",
                         "bb", "sleep", "600")
                made.append(name)
        macs = {p: d.docker("exec", f"{nets[p]}-5", "cat", "/sys/class/net/eth0/address").stdout.strip()
                for p in (blue, red)}
        assert macs[blue] != macs[red]
        for project in (blue, red):
            d.docker("exec", f"{nets[project]}-6", "ping", "-c", "2", "-W", "2", "10.70.0.5")
            assert neighbour_mac(d, f"{nets[project]}-6", "10.70.0.5") == macs[project]
        # The same pool in the same project again (named by id this time) would share an address
        # space: refused, nothing made.
        before = len(d.api.list_networks())
        _, dup = d.network_create("--subnet", "10.70.0.0/24", "--ipam-opt", f"ovnet.project={blue}", check=False)
        assert dup.returncode != 0 and "already used by ovnet network" in dup.stderr
        assert len(d.api.list_networks()) == before
        # With blue's .5 gone, blue's .6 reaches nobody at .5 (neither by ARP nor at the cached MAC),
        # although red's .5 lives on.
        d.docker("rm", "-f", f"{nets[blue]}-5")
        made.remove(f"{nets[blue]}-5")
        assert d.docker("exec", f"{nets[blue]}-6", "ping", "-c", "2", "-W", "1", "10.70.0.5",
                        check=False).returncode != 0
        d.docker("exec", f"{nets[red]}-6", "ping", "-c", "1", "-W", "2", "10.70.0.5")
    finally:
        if made:
            d.docker("rm", "-f", *made, check=False)
        if nets:
            d.docker("network", "rm", *nets.values(), check=False)


def test_project_named_by_id_works_too(ovnet_docker):
    d = ovnet_docker
    green = create_project(d.settings, "green")
    name, _ = d.network_create("--subnet", "10.71.0.0/24", "-o", f"ovnet.project={green}",
                               "--ipam-opt", f"ovnet.project={green}")
    try:
        assert d.ovnet_network(name)["project_id"] == green
    finally:
        d.docker("network", "rm", name, check=False)


@pytest.mark.parametrize("options", [("-o", "ovnet.project=nobody"), ("--ipam-opt", "ovnet.project=nobody"),
                                     ("-o", "ovnet.project=0b5e8a52-0000-4000-8000-000000000000")])
def test_unknown_project_is_our_error_naming_the_option_and_creates_nothing(ovnet_docker, options):
    d = ovnet_docker

    def state():
        ours = d.docker("network", "ls", "-q", "--filter", f"driver={d.plugin}").stdout.split()
        return sorted(ours), len(d.api.list_networks()), len(d.api.list_subnets()), len(d.api.list_ports())

    before = state()
    _, done = d.network_create("--subnet", "10.72.0.0/24", *options, check=False)
    assert done.returncode != 0, done.stdout
    assert f"{options[0]} {options[1]}: ovnet has no project of that name or id" in done.stderr, done.stderr
    assert state() == before


@pytest.mark.parametrize("call,body,field,fragment", [
    ("NetworkDriver.CreateNetwork", b'{"NetworkID": "' + b"ab" * 32 + b'", "IPv4Data": [{"Pool": ', "Err",
     "not JSON"),
    ("NetworkDriver.CreateNetwork", json.dumps({"NetworkID": "ab" * 32, "IPv4Data": [
        {"AddressSpace": "ovnet", "Pool": "fd00:1::/64", "Gateway": "fd00:1::1/64"}]}).encode(), "Err", "IPv4"),
    ("NetworkDriver.CreateNetwork", json.dumps({"NetworkID": "ab" * 32, "Options": {
        "com.docker.network.generic": {"com.docker.network.driver.mtu": "9999999"}},
        "IPv4Data": [{"AddressSpace": "ovnet", "Pool": "10.73.0.0/24", "Gateway": "10.73.0.1/24"}]}).encode(),
     "Err", "mtu"),
    ("NetworkDriver.CreateEndpoint", json.dumps({"NetworkID": "ab" * 32, "EndpointID": "cd" * 32,
                                                 "Interface": {"Address": "10.73.0.9/24"}}).encode(),
     "Err", "has no ovnet network"),
    ("IpamDriver.RequestAddress", b'{"PoolID": "not-ours", "Address": ""}', "Error", "not issued by ovnet"),
    ("IpamDriver.RequestPool", b'{"Pool": "10.73.0.0/24", "SubPool": "10.74.0.0/25"}', "Error", "not inside"),
])
def test_malformed_requests_get_a_clean_error_and_change_nothing(ovnet_docker, call, body, field, fragment):
    d = ovnet_docker
    before = (len(d.api.list_networks()), len(d.api.list_subnets()), len(d.api.list_ports()))
    status, answer, _ = post(plugin_socket(d.plugin), call, body)
    assert status == 200 and fragment in answer[field], answer
    assert (len(d.api.list_networks()), len(d.api.list_subnets()), len(d.api.list_ports())) == before


@pytest.mark.parametrize("call,body", [
    ("NetworkDriver.Leave", {"NetworkID": "ab" * 32, "EndpointID": "cd" * 32}),
    ("NetworkDriver.DeleteEndpoint", {"NetworkID": "ab" * 32, "EndpointID": "cd" * 32}),
    ("NetworkDriver.DeleteNetwork", {"NetworkID": "ab" * 32}),
    ("IpamDriver.ReleaseAddress", {"PoolID": "10.75.0.0/24", "Address": "10.75.0.9"}),
    ("IpamDriver.ReleasePool", {"PoolID": "10.75.0.0/24"}),
])
def test_teardown_of_what_is_gone_succeeds_twice_and_changes_nothing(ovnet_docker, call, body):
    d = ovnet_docker
    before = (len(d.api.list_networks()), len(d.api.list_subnets()), len(d.api.list_ports()))
    for _ in range(2):
        assert post(plugin_socket(d.plugin), call, json.dumps(body).encode())[:2] == (200, {})
    assert (len(d.api.list_networks()), len(d.api.list_subnets()), len(d.api.list_ports())) == before
