"""Address scopes through the API (Neutron "address-scope"): CRUD and policy, pools joining a
scope (never overlapping inside it), networks showing the scopes of their subnets' pools."""

from __future__ import annotations

import pytest

from tests.unit.api.conftest import neutron_error


def _scope(caller, version=4, **attrs) -> dict:
    r = caller.post("/v2.0/address-scopes", {"address_scope": {"name": "s", "ip_version": version, **attrs}})
    assert r.status_code == 201, r.text
    return r.json()["address_scope"]


def _pool(caller, prefixes, **attrs):
    return caller.post("/v2.0/subnetpools", {"subnetpool": {"name": "p", "prefixes": prefixes, **attrs}})


@pytest.mark.dialect
def test_crud_and_discovery(alice):
    scope = _scope(alice, 6, tags=["t"])
    assert (scope["ip_version"], scope["shared"], scope["project_id"], scope["tags"]) == (6, False, alice.project_id,
                                                                                          ["t"])
    assert alice.get(f"/v2.0/address-scopes/{scope['id']}").json()["address_scope"] == scope
    r = alice.put(f"/v2.0/address-scopes/{scope['id']}", {"address_scope": {"name": "renamed"}})
    assert r.status_code == 200 and r.json()["address_scope"]["revision_number"] == scope["revision_number"] + 1
    assert [s["name"] for s in alice.get("/v2.0/address-scopes?ip_version=6").json()["address_scopes"]] == ["renamed"]
    assert alice.get("/v2.0/address-scopes?ip_version=4").json()["address_scopes"] == []
    assert alice.get("/v2.0/extensions/address-scope").status_code == 200
    assert alice.delete(f"/v2.0/address-scopes/{scope['id']}").status_code == 204
    neutron_error(alice.get(f"/v2.0/address-scopes/{scope['id']}"), 404, "AddressScopeNotFound")


@pytest.mark.parametrize("body", [
    {"name": "x"},                                    # ip_version required
    {"ip_version": 5},
    {"ip_version": "four"},
    {"ip_version": 4, "shared": "maybe"},
    {"ip_version": 4, "prefixes": ["10.0.0.0/8"]},    # not an attribute of scopes
])
def test_bad_scopes_are_400(alice, body):
    neutron_error(alice.post("/v2.0/address-scopes", {"address_scope": body}), 400, "HTTPBadRequest")
    assert alice.get("/v2.0/address-scopes").json()["address_scopes"] == []


def test_sharing_is_admin_only_and_cannot_be_undone(admin, alice, bob):
    neutron_error(alice.post("/v2.0/address-scopes", {"address_scope": {"ip_version": 4, "shared": True}}),
                  403, "PolicyNotAuthorized")
    own = _scope(alice)
    neutron_error(alice.put(f"/v2.0/address-scopes/{own['id']}", {"address_scope": {"shared": True}}),
                  403, "PolicyNotAuthorized")
    neutron_error(bob.get(f"/v2.0/address-scopes/{own['id']}"), 404, "AddressScopeNotFound")
    neutron_error(bob.delete(f"/v2.0/address-scopes/{own['id']}"), 404, "AddressScopeNotFound")
    shared = _scope(admin, shared=True)
    assert [s["id"] for s in bob.get("/v2.0/address-scopes").json()["address_scopes"]] == [shared["id"]]
    neutron_error(bob.put(f"/v2.0/address-scopes/{shared['id']}", {"address_scope": {"name": "mine"}}),
                  403, "PolicyNotAuthorized")
    neutron_error(admin.put(f"/v2.0/address-scopes/{shared['id']}", {"address_scope": {"shared": False}}),
                  400, "AddressScopeUpdateError")
    neutron_error(admin.put(f"/v2.0/address-scopes/{own['id']}", {"address_scope": {"ip_version": 6}}),
                  400, "HTTPBadRequest")


@pytest.mark.dialect
def test_pools_in_one_scope_never_overlap(alice, bob, admin):
    scope = _scope(alice)
    first = _pool(alice, ["10.0.0.0/16"], address_scope_id=scope["id"])
    assert first.status_code == 201 and first.json()["subnetpool"]["address_scope_id"] == scope["id"]
    first = first.json()["subnetpool"]
    for prefixes in (["10.0.0.0/16"], ["10.0.128.0/24"], ["10.0.0.0/8"], ["192.168.0.0/24", "10.0.5.0/24"]):
        neutron_error(_pool(alice, prefixes, address_scope_id=scope["id"]), 400, "AddressScopePrefixConflict")
    # Outside the scope the same prefixes are fine; joining it later is checked the same way.
    loose = _pool(alice, ["10.0.0.0/24"]).json()["subnetpool"]
    neutron_error(alice.put(f"/v2.0/subnetpools/{loose['id']}", {"subnetpool": {"address_scope_id": scope["id"]}}),
                  400, "AddressScopePrefixConflict")
    second = _pool(alice, ["10.1.0.0/16"], address_scope_id=scope["id"]).json()["subnetpool"]
    # Growing a pool into its neighbour's prefixes is refused; growing elsewhere is fine.
    neutron_error(alice.put(f"/v2.0/subnetpools/{second['id']}", {"subnetpool": {"prefixes": ["10.0.0.0/15"]}}),
                  400, "AddressScopePrefixConflict")
    assert alice.put(f"/v2.0/subnetpools/{second['id']}",
                     {"subnetpool": {"prefixes": ["10.1.0.0/16", "10.2.0.0/16"]}}).status_code == 200
    listed = alice.get(f"/v2.0/subnetpools?address_scope_id={scope['id']}").json()["subnetpools"]
    assert sorted(p["id"] for p in listed) == sorted([first["id"], second["id"]])
    neutron_error(alice.delete(f"/v2.0/address-scopes/{scope['id']}"), 409, "AddressScopeInUse")
    assert alice.put(f"/v2.0/subnetpools/{second['id']}", {"subnetpool": {"address_scope_id": None}}).status_code == 200
    assert alice.delete(f"/v2.0/subnetpools/{first['id']}").status_code == 204
    assert alice.delete(f"/v2.0/address-scopes/{scope['id']}").status_code == 204


def test_a_pool_joins_only_a_visible_scope_of_its_version(alice, bob, admin):
    v6 = _scope(alice, 6)
    neutron_error(_pool(alice, ["10.0.0.0/16"], address_scope_id=v6["id"]), 400,
                  "IllegalSubnetPoolIpVersionAssociationToAddressScope")
    neutron_error(_pool(bob, ["10.0.0.0/16"], address_scope_id=v6["id"]), 404, "AddressScopeNotFound")
    neutron_error(_pool(alice, ["10.0.0.0/16"], address_scope_id="not-a-uuid"), 400, "HTTPBadRequest")
    # An admin making a pool for bob in alice's unshared scope: the scope is not bob's.
    neutron_error(_pool(admin, ["2001:db8::/48"], address_scope_id=v6["id"], project_id=bob.project_id), 400,
                  "IllegalSubnetPoolAssociationToAddressScope")
    shared = _scope(admin, shared=True)
    r = _pool(bob, ["172.16.0.0/16"], address_scope_id=shared["id"])
    assert r.status_code == 201, r.text
    assert bob.get("/v2.0/subnetpools").json()["subnetpools"][0]["address_scope_id"] == shared["id"]


@pytest.mark.dialect
def test_networks_show_the_scopes_of_their_pools(alice):
    v4, v6 = _scope(alice, 4), _scope(alice, 6)
    p4 = _pool(alice, ["10.0.0.0/16"], address_scope_id=v4["id"], default_prefixlen=24).json()["subnetpool"]
    p6 = _pool(alice, ["2001:db8::/48"], address_scope_id=v6["id"], default_prefixlen=64).json()["subnetpool"]
    net = alice.network(name="n")
    assert (net["ipv4_address_scope"], net["ipv6_address_scope"]) == (None, None)
    for version, pool in ((4, p4), (6, p6)):
        r = alice.post("/v2.0/subnets", {"subnet": {"network_id": net["id"], "ip_version": version,
                                                    "subnetpool_id": pool["id"]}})
        assert r.status_code == 201, r.text
    shown = alice.get(f"/v2.0/networks/{net['id']}").json()["network"]
    assert (shown["ipv4_address_scope"], shown["ipv6_address_scope"]) == (v4["id"], v6["id"])
    listed = alice.get("/v2.0/networks").json()["networks"]
    assert (listed[0]["ipv4_address_scope"], listed[0]["ipv6_address_scope"]) == (v4["id"], v6["id"])
    # One pool per IP version on a network (Neutron's NetworkSubnetPoolAffinityError), so one scope.
    r = alice.post("/v2.0/subnets", {"subnet": {"network_id": net["id"], "ip_version": 4, "cidr": "192.168.0.0/24"}})
    neutron_error(r, 400, "NetworkSubnetPoolAffinityError")
    plain = alice.network(name="plain")
    alice.subnet(plain["id"], "192.168.0.0/24")
    r = alice.post("/v2.0/subnets", {"subnet": {"network_id": plain["id"], "ip_version": 4,
                                                "subnetpool_id": p4["id"]}})
    neutron_error(r, 400, "NetworkSubnetPoolAffinityError")
