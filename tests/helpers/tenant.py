"""Helpers for tests of one project's objects as other callers see them: a project's full set of
objects made through the API, and Keystone's error shape."""

from __future__ import annotations


def keystone_error(response, status: int) -> dict:
    """Assert ``response`` is a Keystone error of ``status``; return its body."""
    assert response.status_code == status, response.text
    body = response.json()["error"]
    assert body["code"] == status and body["title"] and body["message"], body
    return body


def _made(response, key: str) -> dict:
    assert response.status_code == 201, response.text
    return response.json()[key]


def project_objects(owner, admin, cidr_base: int = 1) -> dict[str, str]:
    """Make, as ``owner`` (a tests.unit.api Caller), one object of every kind the API has, each
    tagged ``t1``: two networks with subnets, a port with a floating IP, a router with an interface,
    an extra route and an external gateway (on an external network ``admin`` makes), a security
    group with a rule, a subnet pool in an address scope and an RBAC policy granting the network to ``admin``'s project.
    Returns {collection path: id} ("networks", "security-groups", "rbac-policies", ..., and
    "external" for the external network, "other_network" for the second network)."""
    ext = admin.network(**{"router:external": True})
    admin.subnet(ext["id"], f"203.0.{113 + cidr_base}.0/24")
    net = owner.network()
    sub = owner.subnet(net["id"], f"10.{cidr_base}.0.0/24")
    other = owner.network()
    owner.subnet(other["id"], f"10.{cidr_base}.1.0/24")
    port = owner.port(net["id"], device_owner="compute:nova")
    router = _made(owner.post("/v2.0/routers", {"router": {"external_gateway_info": {"network_id": ext["id"]}}}),
                   "router")
    assert owner.put(f"/v2.0/routers/{router['id']}/add_router_interface", {"subnet_id": sub["id"]}).status_code == 200
    assert owner.put(f"/v2.0/routers/{router['id']}/add_extraroutes", {"router": {"routes": [
        {"destination": "10.99.0.0/16", "nexthop": f"10.{cidr_base}.0.7"}]}}).status_code == 200
    fip = _made(owner.post("/v2.0/floatingips", {"floatingip": {"floating_network_id": ext["id"],
                                                                  "port_id": port["id"]}}), "floatingip")
    group = _made(owner.post("/v2.0/security-groups", {"security_group": {"name": "web"}}), "security_group")
    rule = _made(owner.post("/v2.0/security-group-rules", {"security_group_rule": {
        "security_group_id": group["id"], "direction": "ingress", "protocol": "tcp"}}), "security_group_rule")
    scope = _made(owner.post("/v2.0/address-scopes", {"address_scope": {"name": "s", "ip_version": 4}}),
                  "address_scope")
    pool = _made(owner.post("/v2.0/subnetpools", {"subnetpool": {"name": "p", "prefixes": [f"10.{100 + cidr_base}.0.0/16"],
                                                                 "address_scope_id": scope["id"]}}), "subnetpool")
    policy = _made(owner.post("/v2.0/rbac-policies", {"rbac_policy": {
        "object_type": "network", "object_id": other["id"], "action": "access_as_shared",
        "target_tenant": admin.project_id}}), "rbac_policy")
    ids = {"networks": net["id"], "subnets": sub["id"], "ports": port["id"], "routers": router["id"],
           "floatingips": fip["id"], "security-groups": group["id"], "security-group-rules": rule["id"],
           "subnetpools": pool["id"], "address-scopes": scope["id"], "rbac-policies": policy["id"], "external": ext["id"],
           "other_network": other["id"]}
    for collection in ("networks", "subnets", "ports", "routers", "floatingips", "security-groups", "subnetpools"):
        r = owner.put(f"/v2.0/{collection}/{ids[collection]}/tags/t1")
        assert r.status_code in (201, 204), (collection, r.text)
    return ids
