"""Neutron's standard-attr-tag on every resource kind that has standard attributes: each of the six
tag routes, the tags in the resource's own body, tag filters, and a member's view of another
project's resource (404), with no 500 anywhere."""

from __future__ import annotations

import pytest

from tests.unit.api.conftest import neutron_error


def _created(caller, path: str, key: str, body: dict) -> dict:
    r = caller.post(f"/v2.0/{path}", {key: body})
    assert r.status_code == 201, r.text
    return r.json()[key]


@pytest.fixture
def resources(admin, alice) -> dict[str, tuple[str, str]]:
    """One resource of every taggable kind owned by alice: {url path: (body key, id)}."""
    public = admin.network(name="public", **{"router:external": True, "provider:network_type": "flat",
                                             "provider:physical_network": "public"})
    admin.subnet(public["id"], "10.50.50.0/24")
    net = alice.network(name="net1")
    sub = alice.subnet(net["id"], "192.168.1.0/24")
    port = alice.port(net["id"])
    pool = _created(alice, "subnetpools", "subnetpool", {"name": "pool", "prefixes": ["10.20.0.0/16"],
                                                          "default_prefixlen": 24})
    scope = _created(alice, "address-scopes", "address_scope", {"name": "scope", "ip_version": 4})
    router = _created(alice, "routers", "router", {"name": "r", "external_gateway_info": {"network_id": public["id"]}})
    assert alice.put(f"/v2.0/routers/{router['id']}/add_router_interface", {"subnet_id": sub["id"]}).status_code == 200
    fip = _created(alice, "floatingips", "floatingip", {"floating_network_id": public["id"]})
    group = _created(alice, "security-groups", "security_group", {"name": "web"})
    rule = _created(alice, "security-group-rules", "security_group_rule",
                    {"security_group_id": group["id"], "direction": "ingress", "protocol": "tcp",
                     "port_range_min": 80, "port_range_max": 80})
    return {"networks": ("network", net["id"]), "subnets": ("subnet", sub["id"]), "ports": ("port", port["id"]),
            "subnetpools": ("subnetpool", pool["id"]), "address-scopes": ("address_scope", scope["id"]),
            "routers": ("router", router["id"]),
            "floatingips": ("floatingip", fip["id"]), "security-groups": ("security_group", group["id"]),
            "security-group-rules": ("security_group_rule", rule["id"])}


KINDS = ["networks", "subnets", "ports", "subnetpools", "address-scopes", "routers", "floatingips",
         "security-groups", "security-group-rules"]

NOT_FOUND = {"networks": "Network", "subnets": "Subnet", "ports": "Port", "subnetpools": "SubnetPool",
             "address-scopes": "AddressScope", "routers": "Router", "floatingips": "FloatingIP",
             "security-groups": "SecurityGroup", "security-group-rules": "SecurityGroupRule"}


@pytest.mark.dialect
@pytest.mark.parametrize("path", KINDS)
def test_every_tag_route_of_every_kind(alice, bob, resources, path):
    key, rid = resources[path]
    base = f"/v2.0/{path}/{rid}/tags"
    revision = alice.get(f"/v2.0/{path}/{rid}").json()[key]["revision_number"]
    assert alice.get(base).json() == {"tags": []}
    assert alice.put(base, {"tags": ["red", "blue"]}).json() == {"tags": ["red", "blue"]}
    assert alice.put(f"{base}/green").status_code == 201
    assert alice.put(f"{base}/green").status_code == 201  # adding a present tag is a no-op
    assert alice.get(f"{base}/green").status_code == 204
    assert alice.delete(f"{base}/red").status_code == 204
    neutron_error(alice.get(f"{base}/red"), 404, "TagNotFound")
    neutron_error(alice.delete(f"{base}/red"), 404, "TagNotFound")
    shown = alice.get(f"/v2.0/{path}/{rid}").json()[key]
    assert shown["tags"] == ["blue", "green"] and shown["revision_number"] == revision + 3
    plural = path.replace("-", "_")
    assert [r["id"] for r in alice.get(f"/v2.0/{path}", params={"tags": "blue,green"}).json()[plural]] == [rid]
    assert rid not in [r["id"] for r in alice.get(f"/v2.0/{path}", params={"not-tags-any": "blue"}).json()[plural]]
    for verb, route in (("get", base), ("put", f"{base}/x"), ("delete", f"{base}/blue"), ("delete", base)):
        # another project's resource does not exist for bob (Neutron's <Kind>NotFound)
        neutron_error(getattr(bob, verb)(route), 404, f"{NOT_FOUND[path]}NotFound")
    neutron_error(alice.put(base, {"tags": "red"}), 400, "HTTPBadRequest")
    neutron_error(alice.put(f"{base}/{'x' * 61}"), 400, "HTTPBadRequest")
    assert alice.delete(base).status_code == 204
    assert alice.get(base).json() == {"tags": []}


def test_a_rule_is_created_with_tags(alice):
    group = _created(alice, "security-groups", "security_group", {"name": "g", "tags": ["t1"]})
    rule = _created(alice, "security-group-rules", "security_group_rule",
                    {"security_group_id": group["id"], "direction": "ingress", "tags": ["a", "b"]})
    assert group["tags"] == ["t1"] and rule["tags"] == ["a", "b"]
    listed = alice.get(f"/v2.0/security-groups/{group['id']}").json()["security_group"]["security_group_rules"]
    assert {r["id"]: r["tags"] for r in listed}[rule["id"]] == ["a", "b"]


def test_every_kind_of_the_registry_is_covered_here():
    """A new resource kind gets the tag routes from the registry; this test then asks for it here."""
    from ovnet.model.registry import KINDS as REGISTRY

    assert {kind.path or kind.plural for kind in REGISTRY.values()} == set(KINDS)
