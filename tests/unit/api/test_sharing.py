"""A network shared with other projects: what a non-owner may do there (Neutron's default policy)."""

from __future__ import annotations

import pytest

from tests.unit.api.conftest import neutron_error


@pytest.fixture
def shared(admin, alice):
    """alice's network 10.60.0.0/24, shared by the admin (a member may not set shared)."""
    net = alice.network(name="alices")
    sub = alice.subnet(net["id"], "10.60.0.0/24")
    r = admin.put(f"/v2.0/networks/{net['id']}", {"network": {"shared": True}})
    assert r.status_code == 200, r.text
    return net, sub


@pytest.mark.parametrize("attrs, field", [
    ({"fixed_ips": [{"ip_address": "10.60.0.1"}]}, "fixed_ips"),
    ({"fixed_ips": [{"ip_address": "10.60.0.50"}]}, "fixed_ips"),
    ({"mac_address": "fa:16:3e:00:00:01"}, "mac_address"),
    ({"port_security_enabled": False}, "port_security_enabled"),
    ({"allowed_address_pairs": [{"ip_address": "0.0.0.0/0"}]}, "allowed_address_pairs"),
    ({"device_owner": "network:router_interface", "fixed_ips": [{"subnet_id": "SUB"}]}, "device_owner"),
    ({"device_owner": "network:dhcp"}, "device_owner"),
])
def test_non_owner_may_not_set_owner_only_attributes_on_create(shared, alice, bob, attrs, field):
    net, sub = shared
    if "fixed_ips" in attrs and "subnet_id" in attrs["fixed_ips"][0]:
        attrs = {**attrs, "fixed_ips": [{"subnet_id": sub["id"]}]}
    r = bob.post("/v2.0/ports", {"port": {"network_id": net["id"], **attrs}})
    assert neutron_error(r, 403, "PolicyNotAuthorized")["detail"] == field
    assert bob.get("/v2.0/ports").json()["ports"] == []
    if attrs.get("fixed_ips") != [{"ip_address": "10.60.0.1"}]:  # the gateway is no plain port's, not even the owner's
        alice.port(net["id"], **attrs)  # the owner may


def test_non_owner_may_pick_a_subnet_and_harmless_values(shared, bob):
    net, sub = shared
    port = bob.port(net["id"], fixed_ips=[{"subnet_id": sub["id"]}], device_owner="compute:nova",
                    port_security_enabled=True, allowed_address_pairs=[])
    assert port["fixed_ips"][0]["subnet_id"] == sub["id"]


@pytest.mark.parametrize("attrs, field", [
    ({"fixed_ips": [{"ip_address": "10.60.0.77"}]}, "fixed_ips"),
    ({"port_security_enabled": False}, "port_security_enabled"),
    ({"allowed_address_pairs": [{"ip_address": "10.60.0.0/24"}]}, "allowed_address_pairs"),
    ({"device_owner": "network:router_gateway"}, "device_owner"),
])
def test_non_owner_may_not_set_owner_only_attributes_on_update(shared, bob, attrs, field):
    net, _ = shared
    port = bob.port(net["id"])
    r = bob.put(f"/v2.0/ports/{port['id']}", {"port": attrs})
    assert neutron_error(r, 403, "PolicyNotAuthorized")["detail"] == field
    assert bob.get(f"/v2.0/ports/{port['id']}").json()["port"]["revision_number"] == port["revision_number"]


@pytest.mark.dialect
def test_unsharing_with_another_projects_port_there_is_409(shared, admin, alice, bob):
    net, _ = shared
    port = bob.port(net["id"])
    r = admin.put(f"/v2.0/networks/{net['id']}", {"network": {"shared": False}})
    neutron_error(r, 409, "InvalidSharedSetting")
    assert admin.get(f"/v2.0/networks/{net['id']}").json()["network"]["shared"] is True
    alice.port(net["id"])  # the owner's own ports do not hold the sharing
    assert bob.delete(f"/v2.0/ports/{port['id']}").status_code == 204
    assert admin.put(f"/v2.0/networks/{net['id']}", {"network": {"shared": False}}).status_code == 200


@pytest.mark.dialect
def test_network_owner_may_delete_another_projects_port_on_its_network(shared, admin, alice, bob):
    net, _ = shared
    port = bob.port(net["id"])
    assert alice.delete(f"/v2.0/ports/{port['id']}").status_code == 204
    assert bob.get("/v2.0/ports").json()["ports"] == []
    theirs = admin.network(name="other", shared=True)
    elsewhere = bob.port(theirs["id"])
    neutron_error(alice.delete(f"/v2.0/ports/{elsewhere['id']}"), 404, "PortNotFound")
    neutron_error(alice.put(f"/v2.0/ports/{port['id']}", {"port": {"name": "x"}}), 404, "PortNotFound")


BINDING = ("binding:host_id", "binding:profile", "binding:vif_type", "binding:vif_details")


def test_binding_attributes_are_shown_to_admins_only(admin, alice):
    net = alice.network()
    port = alice.port(net["id"])
    assert not set(BINDING) & set(port) and port["binding:vnic_type"] == "normal"
    admin.put(f"/v2.0/ports/{port['id']}", {"port": {"binding:host_id": "h1"}})
    for item in (alice.get(f"/v2.0/ports/{port['id']}").json()["port"], alice.get("/v2.0/ports").json()["ports"][0],
                 alice.put(f"/v2.0/ports/{port['id']}", {"port": {"name": "n"}}).json()["port"]):
        assert not set(BINDING) & set(item), item
    shown = admin.get(f"/v2.0/ports/{port['id']}").json()["port"]
    assert shown["binding:host_id"] == "h1" and shown["binding:vif_type"] == "ovs"


def test_mac_address_is_updatable_until_the_port_is_bound(admin, alice, bob):
    net = alice.network()
    alice.subnet(net["id"], "10.61.0.0/24")
    alice.subnet(net["id"], "fd61::/64", ipv6_address_mode="slaac", ipv6_ra_mode="slaac")
    port = alice.port(net["id"])
    other = alice.port(net["id"])
    r = alice.put(f"/v2.0/ports/{port['id']}", {"port": {"mac_address": "fa:16:3e:aa:bb:cc"}})
    assert r.status_code == 200, r.text
    moved = r.json()["port"]
    assert moved["mac_address"] == "fa:16:3e:aa:bb:cc" and moved["revision_number"] == 2
    assert "fd61::f816:3eff:feaa:bbcc" in [ip["ip_address"] for ip in moved["fixed_ips"]]  # EUI-64 follows
    neutron_error(alice.put(f"/v2.0/ports/{port['id']}", {"port": {"mac_address": other["mac_address"]}}), 409,
                  "MacAddressInUse")
    admin.put(f"/v2.0/ports/{port['id']}", {"port": {"binding:host_id": "h1"}})
    neutron_error(alice.put(f"/v2.0/ports/{port['id']}", {"port": {"mac_address": "fa:16:3e:aa:bb:cd"}}), 409,
                  "PortBound")
    assert alice.put(f"/v2.0/ports/{port['id']}", {"port": {"mac_address": "fa:16:3e:aa:bb:cc"}}).status_code == 200
