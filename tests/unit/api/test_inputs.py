"""Inputs a client can send that once gave a 500 (issue 14): each kind refused with 400, nothing written."""

from __future__ import annotations

import pytest

from tests.unit.api.conftest import neutron_error

SURROGATE = '"\\ud800"'  # a lone UTF-16 surrogate as JSON spells it


def _raw_post(caller, path: str, content: str):
    return caller.client.post(path, content=content.encode(),
                              headers={"X-Auth-Token": caller.token, "Content-Type": "application/json"})


def _raw_put(caller, path: str, content: str):
    return caller.client.put(path, content=content.encode(),
                             headers={"X-Auth-Token": caller.token, "Content-Type": "application/json"})


@pytest.mark.dialect
@pytest.mark.parametrize("body", [
    '{"network": {"name": %s}}',
    '{"network": {"description": %s}}',
    '{"network": {"name": "n", "tags": [%s]}}',
    '{"network": {%s: "x"}}',
    '{"networks": [{"name": "ok"}, {"name": %s}]}',
    '{"network": {"name": "a\\udc00b"}}',  # a low surrogate alone, mid-string
])
def test_lone_surrogate_in_a_network_body_is_400_and_nothing_is_stored(alice, admin, body):
    neutron_error(_raw_post(alice, "/v2.0/networks", body.replace("%s", SURROGATE)), 400, "HTTPBadRequest")
    assert alice.get("/v2.0/networks").json()["networks"] == []
    assert admin.get("/v2.0/networks").status_code == 200


@pytest.mark.dialect
@pytest.mark.parametrize("body", [
    '{"network": {"name": "x\\u0000"}}',
    '{"network": {"name": "n", "tags": ["a\\u0000b"]}}',
    '{"network": {"name": "n", "description": "\\u0000"}}',
])
def test_nul_in_a_body_is_400_and_nothing_is_stored(alice, body):
    # OVSDB refuses NUL in strings: one stored name holding it failed every NB transaction after it
    neutron_error(_raw_post(alice, "/v2.0/networks", body), 400, "HTTPBadRequest")
    assert alice.get("/v2.0/networks").json()["networks"] == []


def test_model_refuses_a_nul_from_any_caller():
    from ovnet.model import attributes
    from ovnet.model.errors import BadRequest
    with pytest.raises(BadRequest, match="NUL"):
        attributes.string("name", "a\x00")


@pytest.mark.dialect
def test_a_valid_surrogate_pair_is_fine(alice):
    r = _raw_post(alice, "/v2.0/networks", '{"network": {"name": "\\ud83d\\ude00", "tags": ["\\ud83d\\ude00"]}}')
    assert r.status_code == 201, r.text
    assert alice.get("/v2.0/networks?tags=%F0%9F%98%80").json()["networks"][0]["name"] == "\U0001F600"


@pytest.mark.dialect
def test_lone_surrogate_in_port_attributes_and_tag_bodies_is_400(alice):
    net = alice.network()
    alice.subnet(net["id"], "10.0.0.0/24")
    for body in ('{"port": {"network_id": "%s", "binding:profile": {"k": %s}}}',
                 '{"port": {"network_id": "%s", "device_owner": %s}}',
                 '{"port": {"network_id": "%s", "allowed_address_pairs": [{"ip_address": %s}]}}'):
        neutron_error(_raw_post(alice, "/v2.0/ports", body % (net["id"], SURROGATE)), 400, "HTTPBadRequest")
    neutron_error(_raw_put(alice, f"/v2.0/networks/{net['id']}/tags", '{"tags": [%s]}' % SURROGATE),
                  400, "HTTPBadRequest")
    neutron_error(_raw_put(alice, f"/v2.0/networks/{net['id']}", '{"network": {"name": %s}}' % SURROGATE),
                  400, "HTTPBadRequest")
    assert alice.get("/v2.0/ports").json()["ports"] == []
    shown = alice.get(f"/v2.0/networks/{net['id']}").json()["network"]
    assert shown["tags"] == [] and shown["name"] == "" and shown["revision_number"] == 2


@pytest.mark.parametrize("suffix", ["%ED%A0%80", "%C0%AF", "%FF", "a%E2%82"])
def test_invalid_utf8_in_paths_is_400(alice, suffix):
    net = alice.network()
    neutron_error(alice.get(f"/v2.0/networks/{suffix}"), 400, "HTTPBadRequest")
    neutron_error(alice.client.put(f"/v2.0/networks/{net['id']}/tags/{suffix}",
                                   headers={"X-Auth-Token": alice.token}), 400, "HTTPBadRequest")
    assert alice.get(f"/v2.0/networks/{net['id']}").json()["network"]["tags"] == []


@pytest.mark.parametrize("query", ["name=%ED%A0%80", "tags=%ED%A0%80", "fields=%FF", "%ED%A0%80=x", "id=a%C3"])
def test_invalid_utf8_in_query_strings_is_400(alice, query):
    alice.network(name="n")
    neutron_error(alice.get(f"/v2.0/networks?{query}"), 400, "HTTPBadRequest")


def test_model_refuses_a_surrogate_from_any_caller(store, alice):
    from ovnet.model.errors import BadRequest
    from ovnet.model.networks import create_network
    from ovnet.model.common import Defaults
    from ovnet.model.tenancy import Context

    with pytest.raises(BadRequest):
        store.run(lambda s: create_network(s, Context(alice.project_id), {"tags": ["\udfff"]}, Defaults()))


@pytest.mark.dialect
@pytest.mark.parametrize("key, value", [
    ("id", "a"), ("name", "n"), ("tags", "red"), ("tags-any", "red"), ("not-tags", "red"),
    ("not-tags-any", "red"), ("revision_number", "1"), ("shared", "false"),
])
def test_a_filter_value_repeated_a_thousand_times_is_one_value(alice, key, value):
    alice.network(name="n", tags=["red"])
    r = alice.get(f"/v2.0/networks?{'&'.join([f'{key}={value}'] * 1000)}")
    assert r.status_code == 200, r.text
    plain = alice.get(f"/v2.0/networks?{key}={value}").json()["networks"]
    assert r.json()["networks"] == plain


@pytest.mark.dialect
def test_repeated_fixed_ips_filters_and_many_distinct_values(alice):
    net = alice.network()
    sub = alice.subnet(net["id"], "10.40.0.0/24")
    port = alice.port(net["id"], fixed_ips=[{"ip_address": "10.40.0.10"}])
    query = "&".join([f"fixed_ips=subnet_id%3D{sub['id']}", *["fixed_ips=ip_address%3D10.40.0.10"] * 1000])
    assert [p["id"] for p in alice.get(f"/v2.0/ports?{query}").json()["ports"]] == [port["id"]]
    many = "&".join(f"id=x{i}" for i in range(3000))  # distinct values: one IN list, no deep tree
    assert alice.get(f"/v2.0/networks?{many}&id={net['id']}").json()["networks"][0]["id"] == net["id"]
    tags = ",".join(f"t{i}" for i in range(101))
    neutron_error(alice.get(f"/v2.0/networks?tags-any={tags}"), 400, "HTTPBadRequest")


@pytest.mark.dialect
@pytest.mark.parametrize("query", ["revision_number=9223372036854775808", "revision_number=-9223372036854775809",
                                   "mtu=" + "9" * 40, "ip_version=99999999999999999999"])
def test_integer_filters_beyond_64_bits_are_400(alice, query):
    alice.network()
    plural = "subnets" if query.startswith("ip_version") else "networks"
    neutron_error(alice.get(f"/v2.0/{plural}?{query}"), 400, "HTTPBadRequest")
    assert alice.get("/v2.0/networks?revision_number=9223372036854775807").json()["networks"] == []


@pytest.mark.dialect
def test_fixed_ips_filter_keys_are_anded_values_of_one_key_ored(alice):
    net = alice.network()
    s1 = alice.subnet(net["id"], "10.40.0.0/24")
    s2 = alice.subnet(net["id"], "10.41.0.0/24")
    mine = alice.port(net["id"], name="mine", fixed_ips=[{"subnet_id": s1["id"], "ip_address": "10.40.0.10"}])
    other = alice.port(net["id"], name="other", fixed_ips=[{"subnet_id": s2["id"], "ip_address": "10.41.0.10"},
                                                           {"subnet_id": s1["id"], "ip_address": "10.40.0.11"}])

    def names(query):
        return sorted(p["name"] for p in alice.get(f"/v2.0/ports?{query}").json()["ports"])

    assert names(f"fixed_ips=subnet_id%3D{s1['id']}&fixed_ips=ip_address%3D10.40.0.10") == ["mine"]
    assert names(f"fixed_ips=subnet_id%3D{s1['id']}&fixed_ips=ip_address%3D10.41.0.10") == []
    assert names("fixed_ips=ip_address%3D10.40.0.10&fixed_ips=ip_address%3D10.41.0.10") == ["mine", "other"]
    assert names(f"fixed_ips=subnet_id%3D{s1['id']}&fixed_ips=subnet_id%3D{s2['id']}") == ["mine", "other"]
    assert mine["id"] != other["id"]


@pytest.mark.parametrize("cidr", ["fd00:1::/63", "fd00:1::/80", "fd00:1::/120", "fd00::/48"])
@pytest.mark.parametrize("modes", [{"ipv6_address_mode": "slaac"}, {"ipv6_address_mode": "dhcpv6-stateless"},
                                   {"ipv6_ra_mode": "slaac"}, {"ipv6_ra_mode": "dhcpv6-stateless",
                                                               "ipv6_address_mode": "dhcpv6-stateless"}])
def test_eui64_modes_on_a_prefix_other_than_64_are_400(alice, cidr, modes):
    net = alice.network()
    r = alice.post("/v2.0/subnets", {"subnet": {"network_id": net["id"], "cidr": cidr, "ip_version": 6, **modes}})
    assert neutron_error(r, 400, "InvalidInput")["detail"] == "cidr"
    assert alice.get("/v2.0/subnets").json()["subnets"] == []


def test_stateful_dhcpv6_on_any_prefix_is_fine(alice):
    net = alice.network()
    alice.subnet(net["id"], "fd00:1::/120", ipv6_address_mode="dhcpv6-stateful", ipv6_ra_mode="dhcpv6-stateful")
    alice.subnet(net["id"], "fd00:2::/64", ipv6_address_mode="slaac", ipv6_ra_mode="slaac")


@pytest.mark.dialect
def test_gateway_update_to_an_address_a_port_holds_is_409(alice):
    net = alice.network()
    sub = alice.subnet(net["id"], "10.40.0.0/24", allocation_pools=[{"start": "10.40.0.100", "end": "10.40.0.200"}])
    held = alice.port(net["id"], fixed_ips=[{"ip_address": "10.40.0.10"}])
    r = alice.put(f"/v2.0/subnets/{sub['id']}", {"subnet": {"gateway_ip": "10.40.0.10"}})
    error = neutron_error(r, 409, "GatewayIpInUse")
    assert held["id"] in error["message"]
    assert alice.get(f"/v2.0/subnets/{sub['id']}").json()["subnet"]["gateway_ip"] == "10.40.0.1"
    router = alice.port(net["id"], device_owner="network:router_interface", fixed_ips=[{"ip_address": "10.40.0.20"}])
    moved = alice.put(f"/v2.0/subnets/{sub['id']}", {"subnet": {"gateway_ip": "10.40.0.20"}})
    assert moved.status_code == 200 and router["fixed_ips"][0]["ip_address"] == "10.40.0.20"
    assert alice.put(f"/v2.0/subnets/{sub['id']}", {"subnet": {"gateway_ip": "10.40.0.30"}}).status_code == 200


def test_ipv6_modes_with_dhcp_off_are_400_on_create_and_update(alice):
    net = alice.network()
    r = alice.post("/v2.0/subnets", {"subnet": {"network_id": net["id"], "cidr": "fd00:1::/64", "ip_version": 6,
                                                "ipv6_address_mode": "slaac", "enable_dhcp": False}})
    assert neutron_error(r, 400, "InvalidInput")["detail"] == "enable_dhcp"
    sub = alice.subnet(net["id"], "fd00:1::/64", ipv6_ra_mode="slaac")
    r = alice.put(f"/v2.0/subnets/{sub['id']}", {"subnet": {"enable_dhcp": False}})
    assert neutron_error(r, 400, "InvalidInput")["detail"] == "enable_dhcp"
    plain = alice.subnet(net["id"], "fd00:2::/64", enable_dhcp=False)
    assert plain["ipv6_address_mode"] is None


@pytest.mark.dialect
def test_list_limits_of_neutron(alice):
    """Neutron's defaults: 5 DNS servers, 20 host routes, 10 allowed address pairs (no repeats), 50 tags."""
    net = alice.network()
    base = {"network_id": net["id"], "cidr": "10.9.0.0/24", "ip_version": 4}
    dns = [f"10.9.0.{i}" for i in range(10, 16)]
    r = alice.post("/v2.0/subnets", {"subnet": {**base, "dns_nameservers": dns}})
    neutron_error(r, 400, "DNSNameServersExhausted")
    routes = [{"destination": f"10.{i}.0.0/16", "nexthop": "10.9.0.254"} for i in range(100, 121)]
    neutron_error(alice.post("/v2.0/subnets", {"subnet": {**base, "host_routes": routes}}), 400, "HostRoutesExhausted")
    sub = alice.subnet(net["id"], "10.9.0.0/24", dns_nameservers=dns[:5], host_routes=routes[:20])
    neutron_error(alice.put(f"/v2.0/subnets/{sub['id']}", {"subnet": {"dns_nameservers": dns}}), 400,
                  "DNSNameServersExhausted")
    pairs = [{"ip_address": f"10.9.1.{i}"} for i in range(11)]
    r = alice.post("/v2.0/ports", {"port": {"network_id": net["id"], "allowed_address_pairs": pairs}})
    neutron_error(r, 400, "AllowedAddressPairExhausted")
    r = alice.post("/v2.0/ports", {"port": {"network_id": net["id"], "allowed_address_pairs": pairs[:1] * 2}})
    neutron_error(r, 400, "HTTPBadRequest")
    alice.port(net["id"], allowed_address_pairs=pairs[:10])
    tags = [f"t{i}" for i in range(51)]
    neutron_error(alice.put(f"/v2.0/networks/{net['id']}/tags", {"tags": tags}), 400, "TagLimitExceeded")
    assert alice.put(f"/v2.0/networks/{net['id']}/tags", {"tags": tags[:50]}).status_code == 200
    neutron_error(alice.client.put(f"/v2.0/networks/{net['id']}/tags/t50", headers={"X-Auth-Token": alice.token}),
                  400, "TagLimitExceeded")
    assert len(alice.get(f"/v2.0/networks/{net['id']}").json()["network"]["tags"]) == 50
