"""Subnet pools through the API (Neutron "subnet_allocation"): CRUD, bounds, growth-only prefixes,
scoping, and subnets that take their CIDR from a pool."""

from __future__ import annotations

import pytest

from tests.unit.api.conftest import neutron_error


def _pool(caller, prefixes, **attrs) -> dict:
    r = caller.post("/v2.0/subnetpools", {"subnetpool": {"name": "p", "prefixes": prefixes, **attrs}})
    assert r.status_code == 201, r.text
    return r.json()["subnetpool"]


def _pool_subnet(caller, network_id: str, pool_id: str, version: int = 4, **attrs):
    return caller.post("/v2.0/subnets", {"subnet": {"network_id": network_id, "ip_version": version,
                                                    "subnetpool_id": pool_id, **attrs}})


def test_create_derives_version_collapses_prefixes_and_defaults_bounds(alice):
    pool = _pool(alice, ["10.1.0.0/17", "10.1.128.0/17", "10.2.0.0/16"], tags=["t"])
    assert pool["ip_version"] == 4 and pool["prefixes"] == ["10.1.0.0/16", "10.2.0.0/16"]
    assert (pool["min_prefixlen"], pool["default_prefixlen"], pool["max_prefixlen"]) == (8, 8, 32)
    assert pool["shared"] is False and pool["is_default"] is False and pool["tags"] == ["t"]
    assert pool["project_id"] == alice.project_id and pool["address_scope_id"] is None
    v6 = _pool(alice, ["2001:db8::/48"], default_prefixlen=64)
    assert (v6["ip_version"], v6["min_prefixlen"], v6["default_prefixlen"], v6["max_prefixlen"]) == (6, 64, 64, 128)
    assert alice.get(f"/v2.0/subnetpools/{pool['id']}").json()["subnetpool"] == pool
    assert [p["id"] for p in alice.get("/v2.0/subnetpools?ip_version=6").json()["subnetpools"]] == [v6["id"]]
    ext = alice.get("/v2.0/extensions/subnet_allocation")
    assert ext.status_code == 200 and ext.json()["extension"]["alias"] == "subnet_allocation"


@pytest.mark.parametrize("attrs, type_", [
    ({"prefixes": []}, "InvalidInput"),
    ({"prefixes": ["10.0.0.0/8", "2001:db8::/32"]}, "InvalidInput"),
    ({"prefixes": ["10.0.0.1/8"]}, "HTTPBadRequest"),
    ({"prefixes": ["10.0.0.0/8"], "min_prefixlen": 24, "default_prefixlen": 16}, "IllegalSubnetPoolPrefixBounds"),
    ({"prefixes": ["10.0.0.0/8"], "default_prefixlen": 28, "max_prefixlen": 24}, "IllegalSubnetPoolPrefixBounds"),
    ({"prefixes": ["10.0.0.0/8"], "max_prefixlen": 33}, "IllegalSubnetPoolPrefixBounds"),
    ({"prefixes": ["10.0.0.0/8"], "ip_version": 4}, "HTTPBadRequest"),
])
def test_bad_pools_are_400(alice, attrs, type_):
    neutron_error(alice.post("/v2.0/subnetpools", {"subnetpool": attrs}), 400, type_)
    assert alice.get("/v2.0/subnetpools").json()["subnetpools"] == []


@pytest.mark.dialect
def test_prefixes_may_only_grow_and_update_bumps_revision(alice):
    pool = _pool(alice, ["10.1.0.0/16"])
    r = alice.put(f"/v2.0/subnetpools/{pool['id']}", {"subnetpool": {"prefixes": ["10.0.0.0/8", "192.168.0.0/24"],
                                                                      "name": "grown", "max_prefixlen": 30}})
    assert r.status_code == 200, r.text
    grown = r.json()["subnetpool"]
    assert grown["prefixes"] == ["10.0.0.0/8", "192.168.0.0/24"] and grown["name"] == "grown"
    assert grown["max_prefixlen"] == 30 and grown["revision_number"] == pool["revision_number"] + 1
    neutron_error(alice.put(f"/v2.0/subnetpools/{pool['id']}", {"subnetpool": {"prefixes": ["10.0.0.0/8"]}}),
                  400, "IllegalSubnetPoolPrefixUpdate")
    neutron_error(alice.put(f"/v2.0/subnetpools/{pool['id']}", {"subnetpool": {"min_prefixlen": 31}}),
                  400, "IllegalSubnetPoolPrefixBounds")
    neutron_error(alice.put(f"/v2.0/subnetpools/{pool['id']}", {"subnetpool": {"ip_version": 6}}),
                  400, "HTTPBadRequest")


@pytest.mark.dialect
def test_scoping_shared_and_default_are_admin_only(admin, alice, bob):
    own = _pool(alice, ["10.0.0.0/8"])
    neutron_error(bob.get(f"/v2.0/subnetpools/{own['id']}"), 404, "SubnetPoolNotFound")
    assert bob.get("/v2.0/subnetpools").json()["subnetpools"] == []
    neutron_error(alice.post("/v2.0/subnetpools", {"subnetpool": {"prefixes": ["10.0.0.0/8"], "shared": True}}),
                  403, "PolicyNotAuthorized")
    neutron_error(alice.put(f"/v2.0/subnetpools/{own['id']}", {"subnetpool": {"is_default": True}}),
                  403, "PolicyNotAuthorized")
    shared = _pool(admin, ["172.16.0.0/12"], shared=True, is_default=True)
    assert [p["id"] for p in bob.get("/v2.0/subnetpools").json()["subnetpools"]] == [shared["id"]]
    neutron_error(bob.put(f"/v2.0/subnetpools/{shared['id']}", {"subnetpool": {"name": "mine"}}),
                  403, "PolicyNotAuthorized")
    neutron_error(admin.post("/v2.0/subnetpools", {"subnetpool": {"prefixes": ["192.168.0.0/16"],
                                                                  "is_default": True}}), 400, "InvalidInput")
    neutron_error(bob.delete(f"/v2.0/subnetpools/{own['id']}"), 404, "SubnetPoolNotFound")
    assert alice.delete(f"/v2.0/subnetpools/{own['id']}").status_code == 204
    neutron_error(alice.get(f"/v2.0/subnetpools/{own['id']}"), 404, "SubnetPoolNotFound")


@pytest.mark.dialect
def test_subnets_take_the_next_free_prefix_from_the_pool(alice, bob, admin):
    pool = _pool(admin, ["10.10.0.0/23", "10.20.0.0/16"], default_prefixlen=24, min_prefixlen=20, shared=True)
    net_a, net_b = alice.network(), bob.network()
    made = []
    for caller, net in ((alice, net_a), (bob, net_b), (alice, net_a)):
        r = _pool_subnet(caller, net["id"], pool["id"])
        assert r.status_code == 201, r.text
        made.append(r.json()["subnet"])
    # The pool is one address space across networks and projects.
    assert [s["cidr"] for s in made] == ["10.10.0.0/24", "10.10.1.0/24", "10.20.0.0/24"]
    assert all(s["subnetpool_id"] == pool["id"] for s in made)
    assert made[0]["gateway_ip"] == "10.10.0.1" and made[0]["allocation_pools"] == [
        {"start": "10.10.0.2", "end": "10.10.0.254"}]
    r = _pool_subnet(alice, net_a["id"], pool["id"], prefixlen=20)
    assert r.status_code == 201 and r.json()["subnet"]["cidr"] == "10.20.16.0/20"
    # A deleted subnet's prefix is free again; the next /24 fills the first gap.
    assert alice.delete(f"/v2.0/subnets/{made[0]['id']}").status_code == 204
    assert _pool_subnet(bob, net_b["id"], pool["id"]).json()["subnet"]["cidr"] == "10.10.0.0/24"
    listed = alice.get(f"/v2.0/subnets?subnetpool_id={pool['id']}").json()["subnets"]
    assert {s["cidr"] for s in listed} == {"10.20.0.0/24", "10.20.16.0/20"}


@pytest.mark.dialect
def test_cidr_given_with_a_pool_must_lie_in_it_and_be_free(alice):
    pool = _pool(alice, ["10.30.0.0/16"], min_prefixlen=16, max_prefixlen=28)
    net = alice.network()
    r = _pool_subnet(alice, net["id"], pool["id"], cidr="10.30.5.0/24")
    assert r.status_code == 201 and r.json()["subnet"]["cidr"] == "10.30.5.0/24"
    neutron_error(_pool_subnet(alice, alice.network()["id"], pool["id"], cidr="10.30.5.128/25"),
                  409, "SubnetAllocationError")
    neutron_error(_pool_subnet(alice, net["id"], pool["id"], cidr="10.31.0.0/24"), 400, "InvalidInput")
    neutron_error(_pool_subnet(alice, net["id"], pool["id"], prefixlen=29), 400, "MaxPrefixSubnetAllocationError")
    neutron_error(_pool_subnet(alice, net["id"], pool["id"], prefixlen=8), 400, "MinPrefixSubnetAllocationError")
    neutron_error(_pool_subnet(alice, net["id"], pool["id"], version=6), 400, "InvalidInput")
    neutron_error(_pool_subnet(alice, net["id"], "5b6f7e1c-0000-4000-8000-00000000ffff"), 404,
                  "SubnetPoolNotFound")
    neutron_error(alice.post("/v2.0/subnets", {"subnet": {"network_id": net["id"], "ip_version": 4,
                                                          "prefixlen": 24}}), 400, "HTTPBadRequest")


@pytest.mark.dialect
def test_pool_full_and_pool_in_use(alice):
    pool = _pool(alice, ["10.40.0.0/24"], default_prefixlen=25, min_prefixlen=24)
    net = alice.network()
    subnets = [_pool_subnet(alice, net["id"], pool["id"]).json()["subnet"] for _ in range(2)]
    assert [s["cidr"] for s in subnets] == ["10.40.0.0/25", "10.40.0.128/25"]
    neutron_error(_pool_subnet(alice, net["id"], pool["id"]), 409, "SubnetAllocationError")
    neutron_error(alice.delete(f"/v2.0/subnetpools/{pool['id']}"), 409, "SubnetPoolInUse")
    for s in subnets:
        assert alice.delete(f"/v2.0/subnets/{s['id']}").status_code == 204
    assert alice.delete(f"/v2.0/subnetpools/{pool['id']}").status_code == 204


@pytest.mark.parametrize("shared", [True, False])
def test_shared_is_set_at_creation_only(admin, alice, shared):
    # neutron-lib's subnetpool attribute map: shared allows POST, not PUT. Unsharing a pool whose
    # prefixes other projects' subnets hold answered 200 and left those subnets on a pool their
    # projects could no longer see.
    pool = _pool(admin, ["10.30.0.0/16"], default_prefixlen=24, shared=not shared)
    body = neutron_error(admin.put(f"/v2.0/subnetpools/{pool['id']}", {"subnetpool": {"shared": shared}}),
                         400, "HTTPBadRequest")
    assert body["detail"] == "shared"
    assert admin.get(f"/v2.0/subnetpools/{pool['id']}").json()["subnetpool"]["shared"] is (not shared)
    if not shared:
        assert _pool_subnet(alice, alice.network()["id"], pool["id"]).status_code == 201
        assert [p["id"] for p in alice.get("/v2.0/subnetpools").json()["subnetpools"]] == [pool["id"]]
