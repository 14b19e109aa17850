"""Inputs where ovnet matches Neutron's answer (neutron-lib validators, Neutron's _validate_subnet,
the revision plugin, the API reference): each kind with its variants."""

from __future__ import annotations

import pytest

from tests.unit.api.conftest import neutron_error


@pytest.fixture
def net(alice) -> dict:
    return alice.network(name="n")


def _subnet(caller, network_id: str, **attrs):
    version = 6 if ":" in attrs.get("cidr", "") else 4
    return caller.post("/v2.0/subnets", {"subnet": {"network_id": network_id, "ip_version": version, **attrs}})


@pytest.mark.parametrize("attrs, reason", [
    ({"cidr": "0.0.0.0/0"}, "0 is not allowed"),
    ({"cidr": "0.0.0.0/0", "enable_dhcp": False}, "0 is not allowed"),
    ({"cidr": "::/0"}, "0 is not allowed"),
    ({"cidr": "10.0.0.1/32"}, "incompatible with DHCP"),
    ({"cidr": "10.0.0.0/31"}, "incompatible with DHCP"),
    ({"cidr": "fd00::/127"}, "incompatible with DHCP"),
    ({"cidr": "fd00::1/128"}, "incompatible with DHCP"),
    ({"cidr": "224.0.0.0/24"}, "Multicast"),
    ({"cidr": "ff05::/64"}, "Multicast"),
    ({"cidr": "127.0.0.0/24"}, "Loopback"),
    ({"cidr": "169.254.0.0/24"}, "Link-local"),
    ({"cidr": "fe80::/64"}, "Link-local"),
    ({"cidr": "10.1.0.0/24", "dns_nameservers": ["fd00::53"]}, "does not match the ip_version"),
    ({"cidr": "fd01::/64", "dns_nameservers": ["10.0.0.53"]}, "does not match the ip_version"),
    ({"cidr": "10.1.0.0/24", "host_routes": [{"destination": "fd00::/64", "nexthop": "10.1.0.5"}]},
     "does not match the ip_version"),
    ({"cidr": "10.1.0.0/24", "host_routes": [{"destination": "10.9.0.0/24", "nexthop": "fd00::5"}]},
     "does not match the ip_version"),
    ({"cidr": "10.1.0.0/24", "gateway_ip": "fd00::1"}, "not a valid host address"),
    ({"cidr": "fd01::/64", "enable_dhcp": False, "ipv6_address_mode": "slaac"}, "enable_dhcp"),
    ({"cidr": "fd01::/64", "enable_dhcp": False, "ipv6_ra_mode": "dhcpv6-stateful"}, "enable_dhcp"),
])
def test_subnets_neutron_refuses_are_400(alice, net, attrs, reason):
    body = neutron_error(_subnet(alice, net["id"], **attrs), 400, "InvalidInput")
    assert reason in body["message"], body
    assert alice.get("/v2.0/subnets").json()["subnets"] == []


@pytest.mark.parametrize("cidr", ["10.1.0.0/32", "127.0.0.0/24", "224.0.0.0/24", "fd00::1/128"])
def test_those_prefixes_are_fine_without_dhcp_but_dhcp_cannot_be_turned_on(alice, net, cidr):
    r = _subnet(alice, net["id"], cidr=cidr, enable_dhcp=False, gateway_ip=None)
    assert r.status_code == 201, r.text
    sub = r.json()["subnet"]
    neutron_error(alice.put(f"/v2.0/subnets/{sub['id']}", {"subnet": {"enable_dhcp": True}}), 400, "InvalidInput")


@pytest.mark.parametrize("attrs, type_", [
    ({"dns_nameservers": [f"10.0.0.{i}" for i in range(1, 7)]}, "DNSNameServersExhausted"),
    ({"host_routes": [{"destination": f"10.9.{i}.0/24", "nexthop": "10.1.0.5"} for i in range(21)]},
     "HostRoutesExhausted"),
    ({"dns_nameservers": ["fd00::53"]}, "InvalidInput"),
    ({"host_routes": [{"destination": "fd00::/64", "nexthop": "fd00::1"}]}, "InvalidInput"),
])
def test_subnet_updates_are_checked_as_creates(alice, net, attrs, type_):
    sub = alice.subnet(net["id"], "10.1.0.0/24")
    neutron_error(alice.put(f"/v2.0/subnets/{sub['id']}", {"subnet": attrs}), 400, type_)
    assert alice.get(f"/v2.0/subnets/{sub['id']}").json()["subnet"]["revision_number"] == sub["revision_number"]


def test_five_dns_servers_and_twenty_routes_are_fine(alice, net):
    r = _subnet(alice, net["id"], cidr="10.1.0.0/24", dns_nameservers=[f"10.0.0.{i}" for i in range(1, 6)],
                host_routes=[{"destination": f"10.9.{i}.0/24", "nexthop": "10.1.0.5"} for i in range(20)])
    assert r.status_code == 201, r.text


@pytest.mark.parametrize("cidr, canonical", [
    ("10.1.0.1/24", "10.1.0.0/24"),
    ("10.1.0.0/024", "10.1.0.0/24"),
    ("FD00::/64", "fd00::/64"),
    ("fd00:0::/64", "fd00::/64"),
    ("fd00:0:0:0::/64", "fd00::/64"),
])
def test_non_canonical_cidrs_are_refused_not_rewritten(alice, net, cidr, canonical):
    body = neutron_error(_subnet(alice, net["id"], cidr=cidr), 400, "HTTPBadRequest")
    assert f"'{canonical}' is recommended" in body["message"]
    neutron_error(alice.post("/v2.0/subnetpools", {"subnetpool": {"prefixes": [cidr]}}), 400, "HTTPBadRequest")


def test_ipv6_default_gateway_and_pool(alice, net):
    r = _subnet(alice, net["id"], cidr="fd03::/64")
    sub = r.json()["subnet"]
    assert sub["gateway_ip"] == "fd03::1"
    assert sub["allocation_pools"] == [{"start": "fd03::2", "end": "fd03::ffff:ffff:ffff:ffff"}]


@pytest.mark.parametrize("pairs, type_", [
    ([{"ip_address": "10.5.0.9"}, {"ip_address": "10.5.0.9"}], "HTTPBadRequest"),
    ([{"ip_address": "10.5.0.9", "mac_address": "fa:16:3e:00:00:01"}] * 2, "HTTPBadRequest"),
    ([{"ip_address": f"10.5.0.{i}"} for i in range(11)], "AllowedAddressPairExhausted"),
])
def test_duplicate_or_too_many_address_pairs(alice, net, pairs, type_):
    alice.subnet(net["id"], "10.5.0.0/24")
    neutron_error(alice.post("/v2.0/ports", {"port": {"network_id": net["id"], "allowed_address_pairs": pairs}}),
                  400, type_)


@pytest.mark.dialect
def test_tag_limits_and_case_sensitive_tag_filters(alice, net):
    neutron_error(alice.put(f"/v2.0/networks/{net['id']}/tags/{'x' * 61}"), 400, "HTTPBadRequest")
    neutron_error(alice.put(f"/v2.0/networks/{net['id']}/tags", {"tags": [f"t{i}" for i in range(51)]}), 400,
                  "TagLimitExceeded")
    assert alice.put(f"/v2.0/networks/{net['id']}/tags/Red").status_code == 201
    other = alice.network(name="other", tags=["red"])
    for query, names in (("tags=Red", ["n"]), ("tags=red", ["other"]), ("tags-any=RED", []),
                         ("not-tags=red", ["n"]), ("tags-any=Red,red", ["n", "other"])):
        got = sorted(n["name"] for n in alice.get(f"/v2.0/networks?{query}").json()["networks"])
        assert got == names, (query, got)
    assert other["tags"] == ["red"]


@pytest.mark.parametrize("path", ["/v2.0/networks.json", "/v2.0/networks/{id}.json", "/v2.0/extensions.json",
                                  "/v2.0/networks/{id}/tags.json", "/v2.0/subnets.json?network_id={id}"])
def test_json_suffix_on_routes(alice, net, path):
    r = alice.get(path.format(id=net["id"]))
    assert r.status_code == 200, r.text


def test_json_suffix_on_writes(alice, net):
    r = alice.put(f"/v2.0/networks/{net['id']}.json", {"network": {"name": "renamed"}})
    assert r.status_code == 200 and r.json()["network"]["name"] == "renamed"
    assert alice.post("/v2.0/networks.json", {"network": {"name": "x"}}).status_code == 201


@pytest.mark.parametrize("method, path, allow", [
    ("patch", "/v2.0/networks", "GET, POST"),
    ("delete", "/v2.0/networks", "GET, POST"),
    ("post", "/v2.0/networks/{id}", "DELETE, GET, PUT"),
    ("patch", "/v2.0/networks/{id}/tags", "DELETE, GET, PUT"),
    ("post", "/v2.0/extensions", "GET"),
])
def test_405_names_the_allowed_methods(alice, net, method, path, allow):
    r = alice.client.request(method.upper(), path.format(id=net["id"]), headers={"X-Auth-Token": alice.token})
    neutron_error(r, 405, "HTTPMethodNotAllowed")
    assert r.headers["allow"] == allow


@pytest.mark.dialect
def test_if_match_on_revision_number(alice, net):
    stale = {"If-Match": f"revision_number={net['revision_number'] + 5}"}
    body = neutron_error(alice.put(f"/v2.0/networks/{net['id']}", {"network": {"name": "x"}}, headers=stale),
                         412, "RevisionNumberConstraintFailed")
    assert "current revision is 1" in body["message"]
    neutron_error(alice.delete(f"/v2.0/networks/{net['id']}", headers=stale), 412, "RevisionNumberConstraintFailed")
    current = {"If-Match": f"revision_number={net['revision_number']}"}
    r = alice.put(f"/v2.0/networks/{net['id']}", {"network": {"name": "x"}}, headers=current)
    assert r.status_code == 200 and r.json()["network"]["revision_number"] == 2
    neutron_error(alice.put(f"/v2.0/networks/{net['id']}", {"network": {"name": "y"}}, headers=current),
                  412, "RevisionNumberConstraintFailed")
    neutron_error(alice.put(f"/v2.0/networks/{net['id']}", {"network": {"name": "y"}},
                            headers={"If-Match": "revision_number=two"}), 400, "HTTPBadRequest")
    assert alice.put(f"/v2.0/networks/{net['id']}", {"network": {"name": "z"}},
                     headers={"If-Match": '"some-etag"'}).status_code == 200
    assert alice.delete(f"/v2.0/networks/{net['id']}", headers={"If-Match": "revision_number=3"}).status_code == 204


def test_extensions_name_what_this_round_added(alice):
    aliases = {e["alias"] for e in alice.get("/v2.0/extensions").json()["extensions"]}
    assert {"address-scope", "revision-if-match", "rbac-policies", "subnet_allocation"} <= aliases
    # Neither is served: address scopes cannot be shared by RBAC, pools have no prefix actions.
    assert not {"rbac-address-scope", "subnetpool-prefix-ops", "default-subnetpools"} & aliases


@pytest.mark.parametrize("spelling", ["FA-16-3E-0A-0B-0C", "fa16.3e0a.0b0c", "FA163E0A0B0C", "fa:16:3e:a:b:c",
                                      "Fa:16:3E:0a:0B:0c"])
def test_mac_spellings_neutron_accepts_are_stored_canonical(alice, net, spelling):
    # neutron-lib converts a port's MAC through netaddr before validating it, so these spellings
    # are one address: the same port is found by any of them and a second port cannot take it.
    port = alice.port(net["id"], mac_address=spelling)
    assert port["mac_address"] == "fa:16:3e:0a:0b:0c"
    found = alice.get("/v2.0/ports", params={"mac_address": spelling}).json()["ports"]
    assert [p["id"] for p in found] == [port["id"]]
    neutron_error(alice.post("/v2.0/ports", {"port": {"network_id": net["id"], "mac_address": "fa:16:3e:0a:0b:0c"}}),
                  409, "MacAddressInUse")
    pairs = alice.put(f"/v2.0/ports/{port['id']}", {"port": {"allowed_address_pairs": [
        {"ip_address": "10.9.9.9", "mac_address": "FA-16-3E-0A-0B-0D"}]}})
    assert pairs.json()["port"]["allowed_address_pairs"][0]["mac_address"] == "fa:16:3e:0a:0b:0d"


@pytest.mark.parametrize("spelling", ["fa:16:3e:0a:0b", "fa-16:3e-0a-0b-0c", "fa16.3e0a.0b0", "fa163e0a0b0c0",
                                      "fa:16:3e:0a:0b:0c:0d", "fa:16:3e:0a:0b:0g", "01-00-5e-00-00-01", "000000000000"])
def test_other_mac_spellings_are_400(alice, net, spelling):
    neutron_error(alice.post("/v2.0/ports", {"port": {"network_id": net["id"], "mac_address": spelling}}),
                  400, "HTTPBadRequest")
    assert alice.get("/v2.0/ports").json()["ports"] == []


@pytest.mark.parametrize("mode", ["slaac", "dhcpv6-stateless"])
def test_an_auto_address_subnet_is_deleted_with_the_addresses_it_gave(alice, net, mode):
    # Neutron's delete_subnet deallocates what an auto-address IPv6 subnet gave ordinary ports;
    # only a router's port holds it (SubnetInUse), as a stateful subnet's ports still do.
    v4 = alice.subnet(net["id"], "10.1.0.0/24")
    auto = alice.subnet(net["id"], "fd01::/64", ipv6_ra_mode=mode, ipv6_address_mode=mode)
    stateful = alice.subnet(net["id"], "fd02::/64", ipv6_ra_mode="dhcpv6-stateful",
                            ipv6_address_mode="dhcpv6-stateful")
    port = alice.port(net["id"])
    assert {f["subnet_id"] for f in port["fixed_ips"]} == {v4["id"], auto["id"], stateful["id"]}
    neutron_error(alice.delete(f"/v2.0/subnets/{stateful['id']}"), 409, "SubnetInUse")
    assert alice.delete(f"/v2.0/subnets/{auto['id']}").status_code == 204
    after = alice.get(f"/v2.0/ports/{port['id']}").json()["port"]
    assert {f["subnet_id"] for f in after["fixed_ips"]} == {v4["id"], stateful["id"]}
    router = alice.post("/v2.0/routers", {"router": {"name": "r"}}).json()["router"]
    held = alice.subnet(net["id"], "fd03::/64", ipv6_ra_mode=mode, ipv6_address_mode=mode)
    added = alice.put(f"/v2.0/routers/{router['id']}/add_router_interface", {"subnet_id": held["id"]})
    assert added.status_code == 200, added.text
    neutron_error(alice.delete(f"/v2.0/subnets/{held['id']}"), 409, "SubnetInUse")
    assert alice.get(f"/v2.0/subnets/{held['id']}").status_code == 200
