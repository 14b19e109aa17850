"""IPAM: random allocate/free sequences (hypothesis), large pools, concurrent writers."""

from __future__ import annotations

import ipaddress
import threading

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ovnet.model import ipam, networks, ports, subnets
from ovnet.model.common import Defaults
from ovnet.model.errors import Conflict
from ovnet.model.schema import IPAllocation
from ovnet.model.tenancy import Context

ADMIN = Context("admin-project", is_admin=True)
DEFAULTS = Defaults()


def _network(store, cidr: str, **subnet_attrs) -> tuple[str, dict]:
    def work(s):
        net = networks.create_network(s, ADMIN, {}, DEFAULTS)
        sub = subnets.create_subnet(s, ADMIN, {"network_id": net.id, "cidr": cidr,
                                               "ip_version": ipaddress.ip_network(cidr).version, **subnet_attrs})
        return net.id, {"id": sub.id, "pools": ipam.pools_of(sub)}
    return store.run(work)


def _create(store, network_id: str, **attrs) -> tuple[str, list[str]]:
    def work(s):
        port = ports.create_port(s, ADMIN, {"network_id": network_id, **attrs}, DEFAULTS)
        return port.id, [a.ip_address for a in port.fixed_ips]
    return store.run(work)


def _held(store, subnet_id: str) -> list[str]:
    with store.session(readonly=True) as s:
        return list(s.scalars(IPAllocation.__table__.select().with_only_columns(IPAllocation.ip_address)
                              .where(IPAllocation.subnet_id == subnet_id)))


OPS = st.lists(st.one_of(st.just(("alloc", 0)), st.tuples(st.just("request"), st.integers(2, 14)),
                         st.tuples(st.just("free"), st.integers(0, 100))), max_size=40)


@pytest.mark.dialect
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=OPS, pool=st.tuples(st.integers(2, 14), st.integers(0, 12)))
def test_random_allocate_free_sequences(store, ops, pool):
    first = pool[0]
    last = min(14, first + pool[1])
    net_id, sub = _network(store, "10.7.0.0/28", allocation_pools=[{"start": f"10.7.0.{first}", "end": f"10.7.0.{last}"}])
    pool_ips = {f"10.7.0.{i}" for i in range(first, last + 1)}
    held: dict[str, str] = {}  # port id -> ip
    for op, arg in ops:
        if op == "alloc":
            if pool_ips <= set(held.values()):
                with pytest.raises(Conflict) as exc:
                    _create(store, net_id)
                assert exc.value.type == "IpAddressGenerationFailure"
            else:
                port_id, ips = _create(store, net_id)
                assert len(ips) == 1 and ips[0] in pool_ips and ips[0] not in held.values()
                held[port_id] = ips[0]
        elif op == "request":
            ip = f"10.7.0.{arg}"
            if ip in held.values():
                with pytest.raises(Conflict) as exc:
                    _create(store, net_id, fixed_ips=[{"ip_address": ip}])
                assert exc.value.type == "IpAddressAlreadyAllocated"
            else:
                port_id, ips = _create(store, net_id, fixed_ips=[{"ip_address": ip}])
                assert ips == [ip]
                held[port_id] = ip
        elif held:
            port_id = sorted(held)[arg % len(held)]
            store.run(lambda s: ports.delete_port(s, ADMIN, port_id))
            del held[port_id]
        in_db = _held(store, sub["id"])
        assert len(in_db) == len(set(in_db)) and sorted(in_db) == sorted(held.values())


@pytest.mark.dialect
def test_large_pool_allocates_distinct_addresses_inside_the_pool(store):
    net_id, sub = _network(store, "10.8.0.0/16")
    ips = [_create(store, net_id)[1][0] for _ in range(300)]
    assert len(set(ips)) == 300
    (first, last), = sub["pools"]
    assert all(first <= int(ipaddress.ip_address(ip)) <= last for ip in ips)


@pytest.mark.dialect
def test_large_pool_nearly_full_still_finds_the_last_free_address(store):
    net_id, sub = _network(store, "10.9.0.0/21", allocation_pools=[{"start": "10.9.0.2", "end": "10.9.7.254"}])
    (first, last), = sub["pools"]
    free = str(ipaddress.ip_address(first + 1000))
    taken = [str(ipaddress.ip_address(a)) for a in range(first, last + 1) if a != first + 1000]

    def fill(s):
        port = ports.create_port(s, ADMIN, {"network_id": net_id, "fixed_ips": []}, DEFAULTS)
        s.add_all(IPAllocation(port_id=port.id, subnet_id=sub["id"], ip_address=ip) for ip in taken)
    store.run(fill)
    assert _create(store, net_id)[1] == [free]
    with pytest.raises(Conflict) as exc:
        _create(store, net_id)
    assert exc.value.type == "IpAddressGenerationFailure"


@pytest.mark.dialect
def test_concurrent_writers_never_share_an_address(store):
    net_id, sub = _network(store, "10.10.0.0/27")  # 29 addresses
    results: list[str] = []
    failures: list[str] = []

    def worker():
        for _ in range(5):
            try:
                results.extend(_create(store, net_id)[1])
            except Conflict as exc:
                failures.append(exc.type)
    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == len(set(results)) == 29
    assert failures == ["IpAddressGenerationFailure"] * 11
    assert sorted(_held(store, sub["id"])) == sorted(results)


def test_default_pools_skip_network_broadcast_and_gateway():
    net4 = ipaddress.ip_network("10.0.0.0/24")
    assert ipam.default_pools(net4, "10.0.0.1") == [(int(net4[2]), int(net4[254]))]
    assert ipam.default_pools(net4, "10.0.0.100") == [(int(net4[1]), int(net4[99])), (int(net4[101]), int(net4[254]))]
    net6 = ipaddress.ip_network("fd00::/120")
    assert ipam.default_pools(net6, None) == [(int(net6[1]), int(net6[255]))]
    assert ipam.default_pools(ipaddress.ip_network("10.0.0.0/31"), None) == [(int(net4[0]), int(net4[1]))]


@given(st.integers(min_value=0, max_value=2**32 - 1))
def test_candidate_ipv4_text_is_the_addresss_own_text(value):
    """The fast formatter of random candidates writes what ipaddress writes (what the store holds
    and what a requested address is compared with)."""
    assert ipam._ipv4_text(value) == str(ipaddress.IPv4Address(value))
