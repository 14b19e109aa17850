"""PoolIDs, allocation ranges and auto pools (pure functions of ovnet.host.docker.pools)."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ovnet.host.docker import pools
from ovnet.host.docker.protocol import PluginError

ip = ipaddress.ip_address
net = ipaddress.ip_network
PROJECT = "0b5e8a52-3c4f-4f0e-9d7e-1f2a3b4c5d6e"


@given(octets=st.tuples(st.integers(0, 255), st.integers(0, 255)), prefix=st.integers(16, 28),
       project=st.none() | st.just(PROJECT), network=st.none() | st.text(min_size=1, max_size=20),
       ranged=st.booleans())
def test_pool_id_round_trips_and_is_deterministic(octets, prefix, project, network, ranged):
    cidr = net(f"10.{octets[0]}.{octets[1]}.0/{prefix}", strict=False)
    ip_range = next(cidr.subnets(prefixlen_diff=1)) if ranged else None
    spec = pools.PoolSpec(cidr, ip_range, project, network)
    assert pools.PoolSpec.parse(spec.pool_id()) == spec
    assert pools.PoolSpec(cidr, ip_range, project, network).pool_id() == spec.pool_id()
    assert len(pools.pool_tag(spec.pool_id())) <= 60


def test_pool_id_is_readable():
    spec = pools.PoolSpec(net("10.9.0.0/24"), net("10.9.0.128/25"), PROJECT, "prod net")
    assert spec.pool_id() == f"10.9.0.0/24;range=10.9.0.128/25;project={PROJECT};network=prod%20net"


@pytest.mark.parametrize("pool_id", ["tracepool/local/192.168.1.0/24", "10.0.0.0/24;colour=red", "", "x;y"])
def test_foreign_pool_ids_are_refused(pool_id):
    with pytest.raises(PluginError, match="not issued by ovnet"):
        pools.PoolSpec.parse(pool_id)


def test_tags_fit_neutrons_60_characters():
    docker_id = "f" * 64
    assert all(len(t) <= 60 for t in (pools.network_tag(docker_id), pools.owner_tag(docker_id)))


def test_allocation_pools_skip_gateway_and_aux_within_the_range():
    spec = pools.PoolSpec(net("192.168.5.0/24"), net("192.168.5.128/25"))
    got = pools.allocation_pools(spec, [ip("192.168.5.1"), ip("192.168.5.10"), ip("192.168.5.140")])
    assert got == [{"start": "192.168.5.128", "end": "192.168.5.139"},
                   {"start": "192.168.5.141", "end": "192.168.5.254"}]


def test_allocation_pools_v6_and_small_v4():
    assert pools.allocation_pools(pools.PoolSpec(net("fd00::/126")), [ip("fd00::1")]) == [
        {"start": "fd00::2", "end": "fd00::3"}]
    assert pools.allocation_pools(pools.PoolSpec(net("10.55.1.0/30")), [ip("10.55.1.1")]) == [
        {"start": "10.55.1.2", "end": "10.55.1.2"}]
    with pytest.raises(PluginError, match="no address left"):
        pools.allocation_pools(pools.PoolSpec(net("10.55.1.0/30")), [ip("10.55.1.1"), ip("10.55.1.2")])


def test_default_gateway_and_host_checks():
    spec = pools.PoolSpec(net("10.1.0.0/24"))
    assert pools.default_gateway(spec) == ip("10.1.0.1")
    assert spec.with_prefix(ip("10.1.0.7")) == "10.1.0.7/24"
    for bad in ("10.1.0.0", "10.1.0.255", "10.2.0.1"):
        with pytest.raises(PluginError):
            spec.check_inside(ip(bad))
    spec.check_inside(ip("10.1.0.254"))


def test_auto_pools_skip_what_is_taken_and_know_when_they_run_out():
    assert pools.choose_auto_pool(False, []) == net("10.192.0.0/24")
    assert pools.choose_auto_pool(False, [net("10.192.0.0/23"), net("172.17.0.0/16")]) == net("10.192.2.0/24")
    assert pools.choose_auto_pool(True, [net("fd6f:766e:6574::/64")]) == net("fd6f:766e:6574:1::/64")
    with pytest.raises(PluginError, match="no free"):
        pools.choose_auto_pool(False, [net("10.192.0.0/12")])

