"""Security groups, rules and ports' security_groups through the API: Neutron's fields and errors."""

from __future__ import annotations

import pytest

from tests.unit.api.conftest import neutron_error


def _default(caller) -> dict:
    groups = caller.get("/v2.0/security-groups", params={"name": "default"}).json()["security_groups"]
    assert len(groups) == 1
    return groups[0]


def _group(caller, name: str, **attrs) -> dict:
    r = caller.post("/v2.0/security-groups", {"security_group": {"name": name, **attrs}})
    assert r.status_code == 201, r.text
    return r.json()["security_group"]


def _rule(caller, group_id: str, **attrs) -> dict:
    r = caller.post("/v2.0/security-group-rules", {"security_group_rule": {"security_group_id": group_id, **attrs}})
    assert r.status_code == 201, r.text
    return r.json()["security_group_rule"]


def _summary(rules: list[dict]) -> set[tuple]:
    return {(r["direction"], r["ethertype"], r["protocol"], r["remote_group_id"], r["remote_ip_prefix"])
            for r in rules}


@pytest.mark.dialect
def test_the_default_group_appears_on_first_use_with_neutrons_rules(alice, bob):
    default = _default(alice)
    assert default["stateful"] is True and default["description"] == "Default security group"
    assert _summary(default["security_group_rules"]) == {
        ("egress", "IPv4", None, None, None), ("egress", "IPv6", None, None, None),
        ("ingress", "IPv4", None, default["id"], None), ("ingress", "IPv6", None, default["id"], None),
    }
    assert _default(alice)["id"] == default["id"]  # once per project
    assert _default(bob)["id"] != default["id"]
    assert [g["id"] for g in alice.get("/v2.0/security-groups").json()["security_groups"]] == [default["id"]]


@pytest.mark.dialect
def test_a_port_gets_default_unless_it_names_groups_and_they_are_updatable(alice):
    net = alice.network()
    web = _group(alice, "web")
    assert _summary(web["security_group_rules"]) == {("egress", "IPv4", None, None, None),
                                                      ("egress", "IPv6", None, None, None)}
    plain = alice.port(net["id"])
    assert plain["security_groups"] == [_default(alice)["id"]]
    named = alice.port(net["id"], security_groups=[web["id"]])
    assert named["security_groups"] == [web["id"]]
    r = alice.put(f"/v2.0/ports/{plain['id']}", {"port": {"security_groups": [web["id"], _default(alice)["id"]]}})
    assert sorted(r.json()["port"]["security_groups"]) == sorted([web["id"], _default(alice)["id"]])
    assert alice.get(f"/v2.0/ports/{plain['id']}").json()["port"]["security_groups"] == \
        sorted([web["id"], _default(alice)["id"]])
    r = alice.put(f"/v2.0/ports/{plain['id']}", {"port": {"security_groups": []}})
    assert r.json()["port"]["security_groups"] == []
    listed = alice.get("/v2.0/ports", params={"id": named["id"]}).json()["ports"]
    assert listed[0]["security_groups"] == [web["id"]]


@pytest.mark.dialect
def test_rule_fields_protocols_and_filters(alice):
    group = _group(alice, "g")
    tcp = _rule(alice, group["id"], direction="ingress", protocol="TCP", port_range_min=22, port_range_max=22,
                remote_ip_prefix="10.0.0.5")
    assert (tcp["protocol"], tcp["remote_ip_prefix"], tcp["ethertype"]) == ("tcp", "10.0.0.5/32", "IPv4")
    icmp = _rule(alice, group["id"], direction="ingress", protocol="icmp", port_range_min=8, port_range_max=0)
    number = _rule(alice, group["id"], direction="ingress", protocol="132", ethertype="IPv6",
                   remote_ip_prefix="2001:db8::1/64", description="sctp")
    assert number["protocol"] == "132" and number["remote_ip_prefix"] == "2001:db8::/64"
    anyproto = _rule(alice, group["id"], direction="ingress", protocol="any", remote_group_id=group["id"])
    assert anyproto["protocol"] is None
    shown = alice.get(f"/v2.0/security-groups/{group['id']}").json()["security_group"]
    assert {r["id"] for r in shown["security_group_rules"]} >= {tcp["id"], icmp["id"], number["id"]}
    assert shown["revision_number"] == 5  # each rule bumps its group
    found = alice.get("/v2.0/security-group-rules", params={"security_group_id": group["id"],
                                                           "direction": "ingress", "protocol": "tcp"})
    assert [r["id"] for r in found.json()["security_group_rules"]] == [tcp["id"]]
    r = alice.put(f"/v2.0/security-group-rules/{tcp['id']}", {"security_group_rule": {"description": "ssh"}})
    assert r.status_code == 200 and r.json()["security_group_rule"]["description"] == "ssh"
    neutron_error(alice.put(f"/v2.0/security-group-rules/{tcp['id']}",
                            {"security_group_rule": {"port_range_min": 23}}), 400, "HTTPBadRequest")
    assert alice.delete(f"/v2.0/security-group-rules/{tcp['id']}").status_code == 204
    neutron_error(alice.get(f"/v2.0/security-group-rules/{tcp['id']}"), 404, "SecurityGroupRuleNotFound")


@pytest.mark.parametrize(("attrs", "status", "type_"), [
    ({"remote_ip_prefix": "10.0.0.0/8", "remote_group_id": "SELF"}, 400, "SecurityGroupRemoteGroupAndRemoteIpPrefix"),
    ({"port_range_min": 80, "port_range_max": 80}, 400, "SecurityGroupProtocolRequiredWithPorts"),
    ({"protocol": "gre", "port_range_min": 80, "port_range_max": 80}, 400,
     "SecurityGroupInvalidProtocolForPortRange"),
    ({"protocol": "tcp", "port_range_min": 90, "port_range_max": 80}, 400, "SecurityGroupInvalidPortRange"),
    ({"protocol": "tcp", "port_range_min": 0, "port_range_max": 80}, 400, "SecurityGroupInvalidPortValue"),
    ({"protocol": "icmp", "port_range_max": 0}, 400, "SecurityGroupMissingIcmpType"),
    ({"protocol": "icmp", "port_range_min": 300}, 400, "SecurityGroupInvalidIcmpValue"),
    ({"protocol": "bogus"}, 400, "SecurityGroupRuleInvalidProtocol"),
    ({"protocol": "256"}, 400, "SecurityGroupRuleInvalidProtocol"),
    ({"remote_ip_prefix": "2001:db8::/64"}, 400, "SecurityGroupRuleParameterConflict"),
    ({"protocol": "ipv6-icmp"}, 400, "SecurityGroupEthertypeConflictWithProtocol"),
    ({"direction": "sideways"}, 400, "HTTPBadRequest"),
    ({"remote_group_id": "00000000-0000-0000-0000-000000000000"}, 404, "SecurityGroupNotFound"),
])
def test_rule_errors_are_neutrons(alice, attrs, status, type_):
    group = _group(alice, "g")
    body = {"direction": "ingress", **attrs}
    if body.get("remote_group_id") == "SELF":
        body["remote_group_id"] = group["id"]
    neutron_error(alice.post("/v2.0/security-group-rules",
                             {"security_group_rule": {"security_group_id": group["id"], **body}}), status, type_)


@pytest.mark.dialect
def test_duplicate_rules_are_409_even_spelled_differently(alice):
    group = _group(alice, "g")
    first = _rule(alice, group["id"], direction="ingress", protocol="tcp", port_range_min=80, port_range_max=80)
    body = neutron_error(alice.post("/v2.0/security-group-rules", {"security_group_rule": {
        "security_group_id": group["id"], "direction": "ingress", "protocol": "6", "port_range_min": 80,
        "port_range_max": 80}}), 409, "SecurityGroupRuleExists")
    assert first["id"] in body["message"]
    neutron_error(alice.post("/v2.0/security-group-rules", {"security_group_rule": {
        "security_group_id": group["id"], "direction": "egress", "remote_ip_prefix": "0.0.0.0/0"}}),
        409, "SecurityGroupRuleExists")


def test_group_errors_in_use_default_and_other_projects(alice, bob, admin):
    net = alice.network()
    web = _group(alice, "web")
    port = alice.port(net["id"], security_groups=[web["id"]])
    neutron_error(alice.delete(f"/v2.0/security-groups/{web['id']}"), 409, "SecurityGroupInUse")
    neutron_error(alice.put(f"/v2.0/security-groups/{web['id']}", {"security_group": {"stateful": False}}),
                  409, "SecurityGroupInUse")
    default = _default(alice)
    neutron_error(alice.delete(f"/v2.0/security-groups/{default['id']}"), 409, "SecurityGroupCannotRemoveDefault")
    neutron_error(alice.put(f"/v2.0/security-groups/{default['id']}", {"security_group": {"name": "x"}}),
                  409, "SecurityGroupCannotUpdateDefault")
    neutron_error(alice.post("/v2.0/security-groups", {"security_group": {"name": "default"}}),
                  409, "SecurityGroupDefaultAlreadyExists")
    theirs = _group(bob, "theirs")
    neutron_error(alice.get(f"/v2.0/security-groups/{theirs['id']}"), 404, "SecurityGroupNotFound")
    neutron_error(alice.delete(f"/v2.0/security-groups/{theirs['id']}"), 404, "SecurityGroupNotFound")
    neutron_error(alice.post("/v2.0/security-group-rules", {"security_group_rule": {
        "security_group_id": theirs["id"], "direction": "ingress"}}), 404, "SecurityGroupNotFound")
    neutron_error(alice.post("/v2.0/security-group-rules", {"security_group_rule": {
        "security_group_id": web["id"], "direction": "ingress", "remote_group_id": theirs["id"]}}),
        404, "SecurityGroupNotFound")
    neutron_error(alice.put(f"/v2.0/ports/{port['id']}", {"port": {"security_groups": [theirs["id"]]}}),
                  404, "SecurityGroupNotFound")
    assert alice.put(f"/v2.0/ports/{port['id']}", {"port": {"security_groups": []}}).status_code == 200
    assert alice.delete(f"/v2.0/security-groups/{web['id']}").status_code == 204
    neutron_error(alice.get(f"/v2.0/security-groups/{web['id']}"), 404, "SecurityGroupNotFound")
    assert admin.delete(f"/v2.0/security-groups/{default['id']}").status_code == 204  # an admin may


@pytest.mark.dialect
def test_deleting_a_group_drops_rules_naming_it_as_remote(alice):
    a, b = _group(alice, "a"), _group(alice, "b")
    _rule(alice, a["id"], direction="ingress", remote_group_id=b["id"])
    assert alice.delete(f"/v2.0/security-groups/{b['id']}").status_code == 204
    rules = alice.get(f"/v2.0/security-groups/{a['id']}").json()["security_group"]["security_group_rules"]
    assert all(r["remote_group_id"] is None for r in rules)


def test_port_security_off_needs_no_groups_and_no_pairs(alice):
    net = alice.network()
    alice.subnet(net["id"], "10.0.0.0/24")
    web = _group(alice, "web")
    neutron_error(alice.post("/v2.0/ports", {"port": {"network_id": net["id"], "port_security_enabled": False,
                                                      "security_groups": [web["id"]]}}),
                  409, "PortSecurityAndIPRequiredForSecurityGroups")
    bare = alice.port(net["id"], port_security_enabled=False)
    assert bare["security_groups"] == []
    port = alice.port(net["id"], allowed_address_pairs=[{"ip_address": "10.0.0.100"}])
    neutron_error(alice.put(f"/v2.0/ports/{port['id']}", {"port": {"port_security_enabled": False,
                                                                    "allowed_address_pairs": []}}),
                  409, "PortSecurityPortHasSecurityGroup")
    neutron_error(alice.put(f"/v2.0/ports/{port['id']}", {"port": {"port_security_enabled": False,
                                                                    "security_groups": []}}),
                  409, "AddressPairAndPortSecurityRequired")
    off = alice.put(f"/v2.0/ports/{port['id']}", {"port": {"port_security_enabled": False, "security_groups": [],
                                                           "allowed_address_pairs": []}})
    assert off.status_code == 200 and off.json()["port"]["security_groups"] == []
    on = alice.put(f"/v2.0/ports/{port['id']}", {"port": {"port_security_enabled": True}}).json()["port"]
    assert on["security_groups"] == [_default(alice)["id"]]  # back on: the default group again


def test_extensions_are_listed(alice):
    aliases = {e["alias"] for e in alice.get("/v2.0/extensions").json()["extensions"]}
    assert {"security-group", "stateful-security-group", "port-security", "allowed-address-pairs"} <= aliases


def test_tags_and_stateless_groups(alice):
    group = _group(alice, "s", stateful=False, tags=["x"])
    assert group["stateful"] is False and group["tags"] == ["x"]
    found = alice.get("/v2.0/security-groups", params={"stateful": "false"}).json()["security_groups"]
    assert [g["id"] for g in found] == [group["id"]]
    assert alice.put(f"/v2.0/security-groups/{group['id']}/tags/y").status_code == 201
    assert alice.get("/v2.0/security-groups", params={"tags": "x,y"}).json()["security_groups"][0]["id"] == group["id"]
