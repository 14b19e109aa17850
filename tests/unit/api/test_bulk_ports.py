"""A bulk port create (one transaction, its rows inserted together at its end) gives the same answers
as single creates would."""

from __future__ import annotations

import pytest

from tests.unit.api.conftest import neutron_error

pytestmark = pytest.mark.dialect  # bulk writes: IPAM, unique constraints, one transaction


def test_bulk_ports_get_distinct_addresses_and_macs_in_a_large_pool(alice):
    # A /16 pool allocates from random candidates: the batch must not hand out one twice
    # although none of its ports is in the store yet.
    net = alice.network()
    alice.subnet(net["id"], "10.60.0.0/16")
    made = alice.post("/v2.0/ports", {"ports": [{"network_id": net["id"]}] * 60}).json()["ports"]
    ips = [p["fixed_ips"][0]["ip_address"] for p in made]
    assert len(set(ips)) == 60 and len({p["mac_address"] for p in made}) == 60
    listed = alice.get(f"/v2.0/ports?network_id={net['id']}").json()["ports"]
    assert sorted(p["id"] for p in listed) == sorted(p["id"] for p in made)
    assert all(p["revision_number"] == 1 and p["created_at"].endswith("Z") for p in made)
    assert {g for p in made for g in p["security_groups"]} == {made[0]["security_groups"][0]}


def test_bulk_ports_in_a_small_pool_take_the_lowest_free_addresses_then_fail_whole(alice):
    net = alice.network()
    alice.subnet(net["id"], "10.61.0.0/29")  # .2 to .6 free: the gateway is .1
    made = alice.post("/v2.0/ports", {"ports": [{"network_id": net["id"]}] * 3}).json()["ports"]
    assert [p["fixed_ips"][0]["ip_address"] for p in made] == ["10.61.0.2", "10.61.0.3", "10.61.0.4"]
    r = alice.post("/v2.0/ports", {"ports": [{"network_id": net["id"]}] * 3})
    neutron_error(r, 409, "IpAddressGenerationFailure")
    assert len(alice.get(f"/v2.0/ports?network_id={net['id']}").json()["ports"]) == 3


def test_bulk_ports_refuse_a_mac_twice_in_one_request(alice):
    net = alice.network()
    alice.subnet(net["id"], "10.62.0.0/24")
    mac = "fa:16:3e:00:00:01"
    r = alice.post("/v2.0/ports", {"ports": [{"network_id": net["id"], "mac_address": mac}] * 2})
    neutron_error(r, 409, "MacAddressInUse")
    assert alice.get(f"/v2.0/ports?network_id={net['id']}").json()["ports"] == []


def test_bulk_ports_refuse_an_address_twice_in_one_request(alice):
    net = alice.network()
    sub = alice.subnet(net["id"], "10.63.0.0/24")
    item = {"network_id": net["id"], "fixed_ips": [{"subnet_id": sub["id"], "ip_address": "10.63.0.9"}]}
    neutron_error(alice.post("/v2.0/ports", {"ports": [item, item]}), 409, "IpAddressAlreadyAllocated")
    automatic = {"network_id": net["id"]}
    alice.port(net["id"], fixed_ips=[{"subnet_id": sub["id"], "ip_address": "10.63.0.20"}])  # no flush by a first group
    lowest = {"network_id": net["id"], "fixed_ips": [{"subnet_id": sub["id"], "ip_address": "10.63.0.2"}]}
    made = alice.post("/v2.0/ports", {"ports": [lowest, automatic, item, automatic]}).json()["ports"]
    assert [p["fixed_ips"][0]["ip_address"] for p in made] == ["10.63.0.2", "10.63.0.3", "10.63.0.9", "10.63.0.4"]


def test_bulk_port_asking_for_an_address_an_earlier_port_of_the_request_got_is_refused(alice):
    # The request's ports are written together at its end: the request's own earlier choices,
    # not the store, must refuse the address (a unique-constraint failure would be a retry, then
    # a 409 of the wrong kind).
    net = alice.network()
    sub = alice.subnet(net["id"], "10.64.0.0/24")
    automatic = {"network_id": net["id"]}
    same = {"network_id": net["id"], "fixed_ips": [{"subnet_id": sub["id"], "ip_address": "10.64.0.2"}]}
    neutron_error(alice.post("/v2.0/ports", {"ports": [automatic, same]}), 409, "IpAddressAlreadyAllocated")
    assert alice.get(f"/v2.0/ports?network_id={net['id']}").json()["ports"] == []
    made = alice.post("/v2.0/ports", {"ports": [same, automatic]}).json()["ports"]
    assert [p["fixed_ips"][0]["ip_address"] for p in made] == ["10.64.0.2", "10.64.0.3"]
    shown = alice.get(f"/v2.0/ports/{made[1]['id']}").json()["port"]
    assert shown == made[1]  # what the create answered is what the store holds
