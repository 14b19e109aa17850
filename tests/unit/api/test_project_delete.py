"""DELETE /v3/projects/{id} (issue 15): tokens revoked; refused while the project owns resources,
or those removed first in order with ?cascade=true, all or nothing."""

from __future__ import annotations

import pytest

from tests.helpers.tenant import keystone_error, project_objects


def test_an_empty_project_is_deleted_and_its_tokens_fail_at_once(admin, alice):
    assert alice.get("/v2.0/networks").status_code == 200
    r = admin.delete(f"/v3/projects/{alice.project_id}")
    assert r.status_code == 204, r.text
    assert alice.get("/v2.0/networks").status_code == 401
    keystone_error(admin.get(f"/v3/projects/{alice.project_id}"), 404)
    keystone_error(admin.delete(f"/v3/projects/{alice.project_id}"), 404)


@pytest.mark.dialect
def test_a_project_owning_resources_is_refused_naming_them(admin, alice):
    project_objects(alice, admin)
    body = keystone_error(admin.delete(f"/v3/projects/{alice.project_id}"), 409)
    assert "still owns" in body["message"] and "2 networks" in body["message"]
    assert "1 router" in body["message"] and "1 routers" not in body["message"]  # singular for one
    assert alice.get("/v2.0/networks").status_code == 200  # nothing went, tokens included


@pytest.mark.dialect
def test_cascade_removes_everything_in_order(admin, alice, bob):
    project_objects(alice, admin)
    bob_net = bob.network()
    r = admin.delete(f"/v3/projects/{alice.project_id}", params={"cascade": "true"})
    assert r.status_code == 200, r.text
    gone = r.json()["deleted"]
    assert gone["networks"] == 2 and gone["routers"] == 1 and gone["floatingips"] == 1 and gone["tokens"] == 1
    for plural in ("networks", "subnets", "ports", "routers", "floatingips", "security-groups", "subnetpools",
                   "address-scopes"):
        key = plural.replace("-", "_")
        left = [o for o in admin.get(f"/v2.0/{plural}").json()[key] if o.get("project_id") == alice.project_id]
        assert left == [], (plural, left)
    assert alice.get("/v2.0/networks").status_code == 401
    assert bob.get(f"/v2.0/networks/{bob_net['id']}").status_code == 200  # another project is untouched


@pytest.mark.dialect
def test_cascade_is_all_or_nothing_when_another_project_depends_on_it(admin, alice, bob):
    net = admin.network(shared=True, project_id=alice.project_id)
    sub = alice.subnet(net["id"], "10.1.0.0/24")
    port = bob.port(net["id"], device_owner="compute:nova", name="bobs")
    body = keystone_error(admin.delete(f"/v3/projects/{alice.project_id}", params={"cascade": "true"}), 409)
    bob_name = admin.get(f"/v3/projects/{bob.project_id}").json()["project"]["name"]
    # the blocking port named with its project, not "one or more ports have an IP allocation"
    assert f"port {port['id']} bobs (compute:nova) of project {bob_name} on network" in body["message"]
    assert "nothing was deleted" in body["message"]
    assert alice.get(f"/v2.0/networks/{net['id']}").status_code == 200
    assert alice.get(f"/v2.0/subnets/{sub['id']}").status_code == 200


@pytest.mark.dialect
def test_cascade_names_another_projects_router_gateway_on_its_external_network(admin, alice, bob):
    ext = admin.network(**{"router:external": True}, project_id=alice.project_id)
    admin.subnet(ext["id"], "203.0.120.0/24", project_id=alice.project_id)
    router = bob.post("/v2.0/routers", {"router": {"external_gateway_info": {"network_id": ext["id"]}}})
    assert router.status_code == 201, router.text
    mine = alice.post("/v2.0/routers", {"router": {"external_gateway_info": {"network_id": ext["id"]}}})
    assert mine.status_code == 201, mine.text
    body = keystone_error(admin.delete(f"/v3/projects/{alice.project_id}", params={"cascade": "true"}), 409)
    assert "(network:router_gateway) of project" in body["message"]
    assert body["message"].count("network:router_gateway") == 1  # alice's own gateway goes with her router
    assert admin.get(f"/v2.0/routers/{mine.json()['router']['id']}").status_code == 200


def test_members_may_not_and_the_admin_project_is_never_deleted(admin, alice, bob):
    keystone_error(alice.delete(f"/v3/projects/{bob.project_id}"), 403)
    keystone_error(alice.delete(f"/v3/projects/{alice.project_id}"), 403)
    body = keystone_error(admin.delete(f"/v3/projects/{admin.project_id}"), 409)
    assert "admin token" in body["message"]
