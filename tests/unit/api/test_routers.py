"""Routers, external networks and floating IPs through the API: Neutron's attributes and errors."""

from __future__ import annotations

import pytest

from tests.unit.api.conftest import neutron_error


@pytest.fixture
def public(admin) -> tuple[dict, dict]:
    """The external network "public" 10.50.50.0/24 (flat on physnet "public") with a pool .10-.20."""
    net = admin.network(name="public", **{"router:external": True, "provider:network_type": "flat",
                                          "provider:physical_network": "public"})
    sub = admin.subnet(net["id"], "10.50.50.0/24", allocation_pools=[{"start": "10.50.50.10", "end": "10.50.50.20"}])
    return net, sub


@pytest.fixture
def private(alice) -> tuple[dict, dict]:
    net = alice.network(name="net1")
    return net, alice.subnet(net["id"], "192.168.1.0/24")


def _router(caller, **attrs) -> dict:
    r = caller.post("/v2.0/routers", {"router": attrs})
    assert r.status_code == 201, r.text
    return r.json()["router"]


def _add(caller, router_id: str, **body):
    return caller.put(f"/v2.0/routers/{router_id}/add_router_interface", body)


def _remove(caller, router_id: str, **body):
    return caller.put(f"/v2.0/routers/{router_id}/remove_router_interface", body)


def _fip(caller, network_id: str, **attrs):
    return caller.post("/v2.0/floatingips", {"floatingip": {"floating_network_id": network_id, **attrs}})


# -- external and provider networks ------------------------------------------------------------------
def test_external_flat_network_is_admin_only_and_visible_to_every_project(admin, alice, public):
    net, sub = public
    assert (net["router:external"], net["provider:network_type"], net["provider:physical_network"]) == \
        (True, "flat", "public")
    assert net["mtu"] == 1500  # on the physical network, no Geneve header
    assert alice.get(f"/v2.0/networks/{net['id']}").status_code == 200
    assert alice.get(f"/v2.0/subnets/{sub['id']}").status_code == 200
    ext = alice.get("/v2.0/networks", params={"router:external": "true"}).json()["networks"]
    assert [n["id"] for n in ext] == [net["id"]]
    neutron_error(alice.post("/v2.0/networks", {"network": {"router:external": True}}), 403, "PolicyNotAuthorized")
    neutron_error(alice.post("/v2.0/networks", {"network": {"provider:network_type": "flat",
                                                            "provider:physical_network": "public"}}),
                  403, "PolicyNotAuthorized")
    plain = alice.network(name="plain")  # provider:* is the operator's, shown to admins only
    assert "provider:network_type" not in plain
    assert admin.get(f"/v2.0/networks/{plain['id']}").json()["network"]["provider:network_type"] == "geneve"


def test_provider_attributes_are_shown_to_admins_only(admin, alice, public):
    """Neutron's policy get_network:provider:* is admin only: a member sees an external network
    (and its own) without them, in show, list and the answers to its own create and update."""
    net, _ = public
    provider = ("provider:network_type", "provider:physical_network", "provider:segmentation_id")
    own = alice.network(name="own")
    updated = alice.put(f"/v2.0/networks/{own['id']}", {"network": {"name": "own2"}}).json()["network"]
    shown = alice.get(f"/v2.0/networks/{net['id']}").json()["network"]
    listed = alice.get("/v2.0/networks").json()["networks"]
    picked = alice.get("/v2.0/networks", params={"fields": "provider:network_type"}).json()["networks"]
    for item in (own, updated, shown, *listed, *picked):
        assert not set(provider) & set(item), item
    assert shown["router:external"] is True
    seen = admin.get(f"/v2.0/networks/{net['id']}").json()["network"]
    assert {k: seen[k] for k in provider} == {"provider:network_type": "flat",
                                              "provider:physical_network": "public",
                                              "provider:segmentation_id": None}


def test_provider_attributes_are_checked(admin):
    bad = [{"provider:network_type": "flat"}, {"provider:network_type": "vlan", "provider:physical_network": "p"},
           {"provider:network_type": "vlan", "provider:physical_network": "p", "provider:segmentation_id": 5000},
           {"provider:network_type": "geneve", "provider:physical_network": "p"},
           {"provider:network_type": "vxlan"}]
    for attrs in bad:
        neutron_error(admin.post("/v2.0/networks", {"network": attrs}), 400,
                      "InvalidInput" if attrs.get("provider:network_type") != "vxlan" else "HTTPBadRequest")
    vlan = admin.network(**{"provider:network_type": "vlan", "provider:physical_network": "p",
                            "provider:segmentation_id": 100})
    assert vlan["provider:segmentation_id"] == 100
    neutron_error(admin.put(f"/v2.0/networks/{vlan['id']}", {"network": {"provider:segmentation_id": 101}}),
                  400, "HTTPBadRequest")


# -- routers -------------------------------------------------------------------------------------------
@pytest.mark.dialect
def test_router_with_gateway_interface_and_route(alice, public, private):
    net, sub = public
    router = _router(alice, name="r1", external_gateway_info={"network_id": net["id"]})
    gw = router["external_gateway_info"]
    assert gw["network_id"] == net["id"] and gw["enable_snat"] is True
    assert gw["external_fixed_ips"][0]["subnet_id"] == sub["id"]
    assert gw["external_fixed_ips"][0]["ip_address"] == "10.50.50.10"
    info = _add(alice, router["id"], subnet_id=private[1]["id"])
    assert info.status_code == 200, info.text
    info = info.json()
    assert info["subnet_id"] == private[1]["id"] and info["network_id"] == private[0]["id"]
    port = alice.get(f"/v2.0/ports/{info['port_id']}").json()["port"]
    assert port["device_owner"] == "network:router_interface" and port["device_id"] == router["id"]
    assert port["fixed_ips"] == [{"subnet_id": private[1]["id"], "ip_address": "192.168.1.1"}]
    routes = [{"destination": "10.9.0.0/16", "nexthop": "192.168.1.50"}]
    r = alice.put(f"/v2.0/routers/{router['id']}", {"router": {"routes": routes}})
    assert r.status_code == 200 and r.json()["router"]["routes"] == routes
    r = alice.put(f"/v2.0/routers/{router['id']}/add_extraroutes",
                  {"router": {"routes": [{"destination": "10.8.0.0/16", "nexthop": "192.168.1.51"}]}})
    assert len(r.json()["router"]["routes"]) == 2
    r = alice.put(f"/v2.0/routers/{router['id']}/remove_extraroutes", {"router": {"routes": routes}})
    assert r.json()["router"]["routes"] == [{"destination": "10.8.0.0/16", "nexthop": "192.168.1.51"}]
    neutron_error(alice.put(f"/v2.0/routers/{router['id']}", {"router": {"routes": [
        {"destination": "10.7.0.0/16", "nexthop": "172.16.0.1"}]}}), 400, "InvalidRoutes")
    listed = alice.get("/v2.0/routers").json()["routers"]
    assert listed[0]["external_gateway_info"]["external_fixed_ips"] == gw["external_fixed_ips"]


def test_router_interface_errors(alice, bob, admin, public, private):
    router = _router(alice, name="r1")
    nogw = alice.subnet(alice.network()["id"], "192.168.2.0/24", gateway_ip=None)
    neutron_error(_add(alice, router["id"], subnet_id=nogw["id"]), 400, "BadRequest")
    assert _add(alice, router["id"], subnet_id=private[1]["id"]).status_code == 200
    neutron_error(_add(alice, router["id"], subnet_id=private[1]["id"]), 400, "BadRequest")
    overlapping = alice.subnet(alice.network()["id"], "192.168.1.0/25")
    neutron_error(_add(alice, router["id"], subnet_id=overlapping["id"]), 400, "BadRequest")
    other = bob.subnet(bob.network()["id"], "10.1.0.0/24")
    neutron_error(_add(alice, router["id"], subnet_id=other["id"]), 404, "SubnetNotFound")
    neutron_error(_add(alice, router["id"]), 400, "BadRequest")
    neutron_error(alice.delete(f"/v2.0/routers/{router['id']}"), 409, "RouterInUse")
    neutron_error(bob.put(f"/v2.0/routers/{router['id']}/add_router_interface", {"subnet_id": other["id"]}),
                  404, "RouterNotFound")
    port_id = alice.get("/v2.0/ports", params={"device_owner": "network:router_interface"}).json()["ports"][0]["id"]
    neutron_error(alice.delete(f"/v2.0/ports/{port_id}"), 409, "ServicePortInUse")
    neutron_error(alice.delete(f"/v2.0/networks/{private[0]['id']}"), 409, "NetworkInUse")
    neutron_error(_remove(alice, router["id"], subnet_id=nogw["id"]), 404, "RouterInterfaceNotFoundForSubnet")
    assert _remove(alice, router["id"], subnet_id=private[1]["id"]).status_code == 200
    assert alice.get(f"/v2.0/ports/{port_id}").status_code == 404
    assert alice.delete(f"/v2.0/routers/{router['id']}").status_code == 204


def test_a_service_port_whose_router_or_floating_ip_does_not_exist_can_be_deleted(admin, alice, private):
    # Neutron's prevent_l3_port_deletion: only a port whose router / floating IP (device_id)
    # exists is ServicePortInUse; one an admin made by hand without one is deleted (new-user finding).
    router = _router(alice, name="r1")
    owned = admin.port(private[0]["id"], device_owner="network:router_interface", device_id=router["id"])
    neutron_error(admin.delete(f"/v2.0/ports/{owned['id']}"), 409, "ServicePortInUse")
    orphans = [admin.port(private[0]["id"], device_owner=owner, device_id=device_id)
               for owner in ("network:router_interface", "network:router_gateway", "network:floatingip")
               for device_id in ("", "0b6a4a4e-5d7e-4b7c-9a51-3d2b8f0c1e22", router["id"])
               if not (owner != "network:floatingip" and device_id == router["id"])]
    for port in orphans:
        assert admin.delete(f"/v2.0/ports/{port['id']}").status_code == 204, port["device_owner"]


def test_a_service_port_keeps_its_owner_and_no_port_is_given_one(admin, alice, public, private):
    # New-user finding: `port set --device-owner compute:foo` on a router interface answered 200,
    # orphaned its NB rows and let it be deleted under a floating IP that needed it.
    router = _router(alice, name="r1", external_gateway_info={"network_id": public[0]["id"]})
    assert _add(alice, router["id"], subnet_id=private[1]["id"]).status_code == 200
    vm = alice.port(private[0]["id"], device_owner="compute:nova", device_id="vm1")
    fip = _fip(alice, public[0]["id"], port_id=vm["id"]).json()["floatingip"]
    service = {owner: admin.get("/v2.0/ports", params={"device_owner": owner}).json()["ports"][0]
               for owner in ("network:router_interface", "network:router_gateway", "network:floatingip")}
    assert service["network:floatingip"]["device_id"] == fip["id"]
    for owner, port in service.items():
        # The interface is alice's; the gateway and floating IP ports belong to no project she sees.
        for caller in (admin, alice) if owner == "network:router_interface" else (admin,):
            for change in ({"device_owner": "compute:foo"}, {"device_id": "vm2"}, {"device_owner": ""}):
                neutron_error(caller.put(f"/v2.0/ports/{port['id']}", {"port": change}), 409, "ServicePortInUse")
        # Naming the values it already has changes nothing and is allowed.
        same = {"device_owner": owner, "device_id": port["device_id"], "name": "kept"}
        assert admin.put(f"/v2.0/ports/{port['id']}", {"port": same}).status_code == 200
        after = admin.get(f"/v2.0/ports/{port['id']}").json()["port"]
        assert (after["device_owner"], after["device_id"]) == (owner, port["device_id"])
    for owner in ("network:router_interface", "network:router_interface_distributed", "network:router_gateway",
                  "network:floatingip"):
        neutron_error(admin.put(f"/v2.0/ports/{vm['id']}", {"port": {"device_owner": owner,
                                                                     "device_id": router["id"]}}),
                      409, "ServicePortInUse")
    loose = admin.port(private[0]["id"], device_owner="network:router_interface")
    neutron_error(admin.put(f"/v2.0/ports/{loose['id']}", {"port": {"device_id": router["id"]}}), 409,
                  "ServicePortInUse")
    assert admin.put(f"/v2.0/ports/{loose['id']}", {"port": {"device_owner": "compute:x"}}).status_code == 200
    assert admin.get(f"/v2.0/ports/{vm['id']}").json()["port"]["device_owner"] == "compute:nova"
    assert [p["id"] for p in alice.get("/v2.0/ports", params={"device_id": router["id"],
                                                              "device_owner": "network:router_interface"})
            .json()["ports"]] == [service["network:router_interface"]["id"]]
    neutron_error(_remove(alice, router["id"], subnet_id=private[1]["id"]), 409, "RouterInterfaceInUseByFloatingIP")


@pytest.mark.dialect
def test_interface_by_port(alice, private):
    router = _router(alice)
    port = alice.port(private[0]["id"], fixed_ips=[{"ip_address": "192.168.1.254"}])
    r = _add(alice, router["id"], port_id=port["id"])
    assert r.status_code == 200 and r.json()["port_id"] == port["id"]
    assert alice.get(f"/v2.0/ports/{port['id']}").json()["port"]["device_owner"] == "network:router_interface"
    used = alice.port(private[0]["id"], device_id="vm1", device_owner="compute:nova")
    neutron_error(_add(alice, _router(alice)["id"], port_id=used["id"]), 409, "PortInUse")
    neutron_error(_remove(alice, router["id"], port_id=used["id"]), 404, "RouterInterfaceNotFound")
    assert _remove(alice, router["id"], port_id=port["id"]).status_code == 200


def test_gateway_must_be_external_and_fixed_ips_admin_only(alice, admin, public, private):
    net, sub = public
    neutron_error(alice.post("/v2.0/routers", {"router": {"external_gateway_info": {"network_id": private[0]["id"]}}}),
                  400, "BadRequest")
    neutron_error(alice.post("/v2.0/routers", {"router": {"external_gateway_info": {
        "network_id": net["id"], "external_fixed_ips": [{"ip_address": "10.50.50.15"}]}}}), 403, "PolicyNotAuthorized")
    router = _router(admin, external_gateway_info={"network_id": net["id"], "enable_snat": False,
                                                   "external_fixed_ips": [{"ip_address": "10.50.50.15"}]})
    assert router["external_gateway_info"]["enable_snat"] is False
    assert router["external_gateway_info"]["external_fixed_ips"][0]["ip_address"] == "10.50.50.15"
    r = admin.put(f"/v2.0/routers/{router['id']}", {"router": {"external_gateway_info": {}}})
    assert r.status_code == 200 and r.json()["router"]["external_gateway_info"] is None
    assert admin.get("/v2.0/ports", params={"device_owner": "network:router_gateway"}).json()["ports"] == []


def test_a_gateway_never_takes_the_external_subnets_gateway_address(admin, public):
    """New-user finding: an admin's router gateway could take 10.50.50.1, the external subnet's
    gateway (the upstream router, the outside host): every floating IP's and SNAT's next hop then
    answered from the wrong MAC. Only a router's interface takes a subnet's gateway address;
    creating or moving a gateway there is refused and nothing is made."""
    net, sub = public
    gateway_ip = sub["gateway_ip"]
    made = admin.post("/v2.0/routers", {"router": {"name": "xr", "external_gateway_info": {
        "network_id": net["id"], "external_fixed_ips": [{"subnet_id": sub["id"], "ip_address": gateway_ip}]}}})
    assert neutron_error(made, 400, "InvalidIpForSubnet")["detail"] == "fixed_ips"
    assert admin.get("/v2.0/routers", params={"name": "xr"}).json()["routers"] == []
    router = _router(admin, external_gateway_info={"network_id": net["id"]})
    moved = admin.put(f"/v2.0/routers/{router['id']}", {"router": {"external_gateway_info": {
        "network_id": net["id"], "external_fixed_ips": [{"ip_address": gateway_ip}]}}})
    neutron_error(moved, 400, "InvalidIpForSubnet")
    kept = admin.get(f"/v2.0/routers/{router['id']}").json()["router"]["external_gateway_info"]
    assert kept == router["external_gateway_info"]
    gateway = admin.get("/v2.0/ports", params={"device_owner": "network:router_gateway"}).json()["ports"][0]
    neutron_error(admin.put(f"/v2.0/ports/{gateway['id']}", {"port": {"fixed_ips": [{"ip_address": gateway_ip}]}}),
                  400, "InvalidIpForSubnet")


# -- floating IPs --------------------------------------------------------------------------------------
def test_floating_ip_lifecycle_and_errors(alice, admin, public, private):
    net, sub = public
    vm = alice.port(private[0]["id"], device_owner="compute:nova", device_id="vm1")
    fip = _fip(alice, net["id"])
    assert fip.status_code == 201, fip.text
    fip = fip.json()["floatingip"]
    assert fip["floating_ip_address"] == "10.50.50.10" and fip["status"] == "DOWN" and fip["port_id"] is None
    neutron_error(alice.put(f"/v2.0/floatingips/{fip['id']}", {"floatingip": {"port_id": vm["id"]}}),
                  404, "ExternalGatewayForFloatingIPNotFound")
    router = _router(alice, external_gateway_info={"network_id": net["id"]})
    assert _add(alice, router["id"], subnet_id=private[1]["id"]).status_code == 200
    r = alice.put(f"/v2.0/floatingips/{fip['id']}", {"floatingip": {"port_id": vm["id"]}})
    assert r.status_code == 200, r.text
    got = r.json()["floatingip"]
    assert (got["fixed_ip_address"], got["router_id"], got["status"]) == \
        (vm["fixed_ips"][0]["ip_address"], router["id"], "ACTIVE")
    second = _fip(alice, net["id"]).json()["floatingip"]
    neutron_error(alice.put(f"/v2.0/floatingips/{second['id']}", {"floatingip": {"port_id": vm["id"]}}),
                  409, "FloatingIPPortAlreadyAssociated")
    neutron_error(_remove(alice, router["id"], subnet_id=private[1]["id"]), 409, "RouterInterfaceInUseByFloatingIP")
    neutron_error(alice.put(f"/v2.0/routers/{router['id']}", {"router": {"external_gateway_info": {}}}),
                  409, "RouterExternalGatewayInUseByFloatingIp")
    fip_port = admin.get("/v2.0/ports", params={"device_owner": "network:floatingip"}).json()["ports"]
    assert {p["fixed_ips"][0]["ip_address"] for p in fip_port} == {"10.50.50.10", "10.50.50.12"}
    neutron_error(admin.delete(f"/v2.0/ports/{fip_port[0]['id']}"), 409, "ServicePortInUse")
    r = alice.put(f"/v2.0/floatingips/{fip['id']}", {"floatingip": {"port_id": None}})
    assert r.json()["floatingip"]["port_id"] is None and r.json()["floatingip"]["status"] == "DOWN"
    for f in (fip, second):
        assert alice.delete(f"/v2.0/floatingips/{f['id']}").status_code == 204
    assert admin.get("/v2.0/ports", params={"device_owner": "network:floatingip"}).json()["ports"] == []
    neutron_error(alice.get(f"/v2.0/floatingips/{fip['id']}"), 404, "FloatingIPNotFound")


def test_no_floating_ip_on_a_router_port_of_any_interface_owner(admin, public, private):
    # Neutron's distributed and HA-replicated interface owners are router ports too.
    for owner in ("network:router_interface", "network:router_interface_distributed"):
        port = admin.port(private[0]["id"], device_owner=owner)
        r = _fip(admin, public[0]["id"], port_id=port["id"])
        neutron_error(r, 400, "BadRequest")
        assert f"has owner {owner} and cannot be associated" in r.json()["NeutronError"]["message"]


@pytest.mark.dialect
def test_floating_ip_address_is_never_handed_out_twice(alice, admin, public):
    net, _ = public
    assert _fip(admin, net["id"], floating_ip_address="10.50.50.17").status_code == 201
    neutron_error(_fip(admin, net["id"], floating_ip_address="10.50.50.17"), 409, "IpAddressAlreadyAllocated")
    got = {_fip(alice, net["id"]).json()["floatingip"]["floating_ip_address"] for _ in range(10)}
    assert len(got) == 10 and "10.50.50.17" not in got
    neutron_error(_fip(alice, net["id"]), 409, "IpAddressGenerationFailure")


def test_only_an_admin_chooses_a_floating_ip_address(alice, admin, public):
    # Neutron's default policy create_floatingip:floating_ip_address is admin only: a member could
    # otherwise pick a known public address before the project it was meant for. A member may
    # still name the subnet to take the next address from.
    net, sub = public
    body = neutron_error(_fip(alice, net["id"], floating_ip_address="10.50.50.15"), 403, "PolicyNotAuthorized")
    assert "floating_ip_address" in body["message"]
    neutron_error(_fip(alice, net["id"], floating_ip_address="10.50.50.15", subnet_id=sub["id"]), 403,
                  "PolicyNotAuthorized")
    assert alice.get("/v2.0/floatingips").json()["floatingips"] == []
    assert _fip(alice, net["id"], subnet_id=sub["id"]).status_code == 201
    chosen = _fip(admin, net["id"], floating_ip_address="10.50.50.15", project_id=alice.project_id)
    assert chosen.status_code == 201, chosen.text
    assert chosen.json()["floatingip"]["project_id"] == alice.project_id


def test_floating_ip_on_a_non_external_network_and_other_projects(alice, bob, public, private):
    neutron_error(_fip(alice, private[0]["id"]), 400, "BadRequest")
    fip = _fip(alice, public[0]["id"]).json()["floatingip"]
    neutron_error(bob.get(f"/v2.0/floatingips/{fip['id']}"), 404, "FloatingIPNotFound")
    assert bob.get("/v2.0/floatingips").json()["floatingips"] == []


@pytest.mark.dialect
def test_deleting_a_port_disassociates_its_floating_ip(alice, public, private):
    router = _router(alice, external_gateway_info={"network_id": public[0]["id"]})
    _add(alice, router["id"], subnet_id=private[1]["id"])
    vm = alice.port(private[0]["id"])
    fip = _fip(alice, public[0]["id"], port_id=vm["id"]).json()["floatingip"]
    assert fip["port_id"] == vm["id"]
    assert alice.delete(f"/v2.0/ports/{vm['id']}").status_code == 204
    assert alice.get(f"/v2.0/floatingips/{fip['id']}").json()["floatingip"]["port_id"] is None


def test_fixed_ips_updates_keep_the_addresses_floating_ips_and_routers_are_built_on(alice, admin, public, private):
    # Adversarial-client finding: the port of an associated floating IP could move to another
    # address or none (the NAT kept pointing at the old one, free for the next port), and a
    # router's port could lose every address (an OVN router port without networks: NB refuses it,
    # so the drift could never be repaired).
    net, sub = private
    router = _router(alice, external_gateway_info={"network_id": public[0]["id"]})
    assert _add(alice, router["id"], subnet_id=sub["id"]).status_code == 200
    vm = alice.port(net["id"])
    address = vm["fixed_ips"][0]["ip_address"]
    fip = _fip(alice, public[0]["id"], port_id=vm["id"]).json()["floatingip"]
    interface = alice.get("/v2.0/ports", params={"device_owner": "network:router_interface"}).json()["ports"][0]
    gateway = admin.get("/v2.0/ports", params={"device_owner": "network:router_gateway"}).json()["ports"][0]
    fip_port = admin.get("/v2.0/ports", params={"device_owner": "network:floatingip"}).json()["ports"][0]
    refused = [(alice, vm, [{"ip_address": "192.168.1.99"}]), (alice, vm, []),
               (admin, fip_port, [{"ip_address": "10.50.50.19"}]), (admin, fip_port, []),
               (alice, interface, []), (admin, gateway, [])]
    for caller, port, fixed_ips in refused:
        body = neutron_error(caller.put(f"/v2.0/ports/{port['id']}", {"port": {"fixed_ips": fixed_ips}}),
                             400, "BadRequest")
        assert body["detail"] == "fixed_ips"
        assert caller.get(f"/v2.0/ports/{port['id']}").json()["port"]["fixed_ips"] == port["fixed_ips"]
    # Adding an address beside the one that is needed is fine, and so is any change once the
    # floating IP is disassociated.
    kept = alice.put(f"/v2.0/ports/{vm['id']}", {"port": {"fixed_ips": [
        {"ip_address": address}, {"ip_address": "192.168.1.99"}]}})
    assert kept.status_code == 200, kept.text
    assert alice.put(f"/v2.0/floatingips/{fip['id']}", {"floatingip": {"port_id": None}}).status_code == 200
    moved = alice.put(f"/v2.0/ports/{vm['id']}", {"port": {"fixed_ips": [{"ip_address": "192.168.1.98"}]}})
    assert moved.status_code == 200, moved.text


@pytest.mark.parametrize("mode", ["slaac", "dhcpv6-stateless"])
def test_a_router_interface_takes_the_gateway_of_an_auto_address_subnet(alice, mode):
    # Adversarial-client finding: `router add subnet` on a SLAAC subnet (the usual IPv6 set-up)
    # answered 400, as the interface's gateway address counted as an address chosen on an
    # auto-address subnet. Neutron exempts router interfaces from that rule; other ports keep it.
    net = alice.network()
    sub = alice.subnet(net["id"], "fd05::/64", ipv6_ra_mode=mode, ipv6_address_mode=mode)
    router = _router(alice)
    added = _add(alice, router["id"], subnet_id=sub["id"])
    assert added.status_code == 200, added.text
    interface = alice.get(f"/v2.0/ports/{added.json()['port_id']}").json()["port"]
    assert interface["fixed_ips"] == [{"subnet_id": sub["id"], "ip_address": "fd05::1"}]
    neutron_error(alice.post("/v2.0/ports", {"port": {"network_id": net["id"],
                                                      "fixed_ips": [{"ip_address": "fd05::99"}]}}),
                  400, "InvalidInput")
