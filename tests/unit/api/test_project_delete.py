"""DELETE /v3/projects/{id} (issue 15): tokens revoked; refused while the project owns resources,
or those removed first in order with ?cascade=true, all or nothing."""

from __future__ import annotations

from tests.unit.api.test_identity import keystone_error


def _topology(alice, admin) -> dict:
    """alice: two networks with subnets, ports, a router with an interface, an extra route and an
    external gateway, a floating IP, a security group with a rule, a subnet pool."""
    ext = admin.network(**{"router:external": True})
    admin.subnet(ext["id"], "203.0.113.0/24")
    net = alice.network()
    sub = alice.subnet(net["id"], "10.1.0.0/24")
    other = alice.network()
    alice.subnet(other["id"], "10.2.0.0/24")
    port = alice.port(net["id"], device_owner="compute:nova")
    alice.port(other["id"])
    router = alice.post("/v2.0/routers", {"router": {"external_gateway_info": {"network_id": ext["id"]}}})
    assert router.status_code == 201, router.text
    rid = router.json()["router"]["id"]
    assert alice.put(f"/v2.0/routers/{rid}/add_router_interface", {"subnet_id": sub["id"]}).status_code == 200
    assert alice.put(f"/v2.0/routers/{rid}/add_extraroutes",
                     {"router": {"routes": [{"destination": "10.9.0.0/16", "nexthop": "10.1.0.7"}]}}).status_code == 200
    fip = alice.post("/v2.0/floatingips", {"floatingip": {"floating_network_id": ext["id"], "port_id": port["id"]}})
    assert fip.status_code == 201, fip.text
    group = alice.post("/v2.0/security-groups", {"security_group": {"name": "web"}}).json()["security_group"]
    rule = alice.post("/v2.0/security-group-rules", {"security_group_rule": {
        "security_group_id": group["id"], "direction": "ingress", "protocol": "tcp"}})
    assert rule.status_code == 201, rule.text
    pool = alice.post("/v2.0/subnetpools", {"subnetpool": {"name": "p", "prefixes": ["10.100.0.0/16"]}})
    assert pool.status_code == 201, pool.text
    return {"net": net, "ext": ext}


def _count(admin, plural: str, project_id: str) -> int:
    return len(admin.get(f"/v2.0/{plural}", params={"project_id": project_id}).json()[plural])


def test_an_empty_project_is_deleted_and_its_tokens_fail_at_once(admin, alice):
    assert alice.get("/v2.0/networks").status_code == 200
    r = admin.delete(f"/v3/projects/{alice.project_id}")
    assert r.status_code == 204, r.text
    assert alice.get("/v2.0/networks").status_code == 401
    keystone_error(admin.get(f"/v3/projects/{alice.project_id}"), 404)
    keystone_error(admin.delete(f"/v3/projects/{alice.project_id}"), 404)


def test_a_project_owning_resources_is_refused_naming_them(admin, alice):
    _topology(alice, admin)
    body = keystone_error(admin.delete(f"/v3/projects/{alice.project_id}"), 409)
    assert "still owns" in body["message"] and "2 networks" in body["message"] and "1 routers" in body["message"]
    assert alice.get("/v2.0/networks").status_code == 200  # nothing went, tokens included


def test_cascade_removes_everything_in_order(admin, alice, bob):
    _topology(alice, admin)
    bob_net = bob.network()
    r = admin.delete(f"/v3/projects/{alice.project_id}", params={"cascade": "true"})
    assert r.status_code == 200, r.text
    gone = r.json()["deleted"]
    assert gone["networks"] == 2 and gone["routers"] == 1 and gone["floatingips"] == 1 and gone["tokens"] == 1
    for plural in ("networks", "subnets", "ports", "routers", "floatingips", "security-groups", "subnetpools"):
        key = plural.replace("-", "_")
        left = [o for o in admin.get(f"/v2.0/{plural}").json()[key] if o.get("project_id") == alice.project_id]
        assert left == [], (plural, left)
    assert alice.get("/v2.0/networks").status_code == 401
    assert bob.get(f"/v2.0/networks/{bob_net['id']}").status_code == 200  # another project is untouched


def test_cascade_is_all_or_nothing_when_another_project_depends_on_it(admin, alice, bob):
    net = admin.network(shared=True, project_id=alice.project_id)
    sub = alice.subnet(net["id"], "10.1.0.0/24")
    bob.port(net["id"], device_owner="compute:nova")
    body = keystone_error(admin.delete(f"/v3/projects/{alice.project_id}", params={"cascade": "true"}), 409)
    assert sub["id"] in body["message"]  # the step that was refused names its object
    assert alice.get(f"/v2.0/networks/{net['id']}").status_code == 200


def test_members_may_not_and_the_admin_project_is_never_deleted(admin, alice, bob):
    keystone_error(alice.delete(f"/v3/projects/{bob.project_id}"), 403)
    keystone_error(alice.delete(f"/v3/projects/{alice.project_id}"), 403)
    body = keystone_error(admin.delete(f"/v3/projects/{admin.project_id}"), 409)
    assert "admin token" in body["message"]
