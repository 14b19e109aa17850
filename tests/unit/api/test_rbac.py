"""/v2.0/rbac-policies: sharing a network with one project or with all, and taking it back."""

from __future__ import annotations

import pytest

from tests.unit.api.conftest import neutron_error

RBAC = "/v2.0/rbac-policies"


def _share(caller, net_id: str, target: str):
    return caller.post(RBAC, {"rbac_policy": {"object_type": "network", "object_id": net_id,
                                               "action": "access_as_shared", "target_tenant": target}})


@pytest.mark.dialect
def test_owner_shares_with_one_project(alice, bob, admin):
    net = alice.network(name="a")
    sub = alice.subnet(net["id"], "10.70.0.0/24")
    neutron_error(bob.get(f"/v2.0/networks/{net['id']}"), 404, "NetworkNotFound")
    r = _share(alice, net["id"], bob.project_id)
    assert r.status_code == 201, r.text
    policy = r.json()["rbac_policy"]
    assert policy["project_id"] == alice.project_id and policy["target_tenant"] == bob.project_id
    assert [n["id"] for n in bob.get("/v2.0/networks").json()["networks"]] == [net["id"]]
    assert [s["id"] for s in bob.get("/v2.0/subnets").json()["subnets"]] == [sub["id"]]
    # Neutron shows shared: true to a project the network is shared with (test below).
    assert bob.get(f"/v2.0/networks/{net['id']}").json()["network"]["shared"] is True
    port = bob.port(net["id"])
    neutron_error(bob.post("/v2.0/ports", {"port": {"network_id": net["id"], "mac_address": "fa:16:3e:00:00:0g"}}),
                  400, "HTTPBadRequest")
    neutron_error(bob.post("/v2.0/ports", {"port": {"network_id": net["id"], "mac_address": "fa:16:3e:00:00:01"}}),
                  403, "PolicyNotAuthorized")
    assert [p["id"] for p in alice.get(RBAC).json()["rbac_policies"]] == [policy["id"]]
    assert bob.get(RBAC).json()["rbac_policies"] == []  # only the owner sees a policy
    neutron_error(bob.delete(f"{RBAC}/{policy['id']}"), 404, "RbacPolicyNotFound")
    neutron_error(alice.delete(f"{RBAC}/{policy['id']}"), 409, "RbacPolicyInUse")
    assert bob.delete(f"/v2.0/ports/{port['id']}").status_code == 204
    assert alice.delete(f"{RBAC}/{policy['id']}").status_code == 204
    neutron_error(bob.get(f"/v2.0/networks/{net['id']}"), 404, "NetworkNotFound")
    assert admin.get(RBAC).json()["rbac_policies"] == []


@pytest.mark.dialect
def test_shared_flag_and_wildcard_policy_are_one(alice, bob, admin):
    net = admin.network(name="pub", shared=True)
    wild = admin.get(f"{RBAC}?object_id={net['id']}").json()["rbac_policies"]
    assert [(p["target_tenant"], p["action"]) for p in wild] == [("*", "access_as_shared")]
    assert admin.put(f"/v2.0/networks/{net['id']}", {"network": {"shared": False}}).status_code == 200
    assert admin.get(f"{RBAC}?object_id={net['id']}").json()["rbac_policies"] == []
    r = _share(admin, net["id"], "*")
    assert r.status_code == 201
    assert admin.get(f"/v2.0/networks/{net['id']}").json()["network"]["shared"] is True
    bob.port(net["id"])
    neutron_error(admin.delete(f"{RBAC}/{r.json()['rbac_policy']['id']}"), 409, "RbacPolicyInUse")
    # a grant to bob himself keeps his port's access when the wildcard goes
    assert _share(admin, net["id"], bob.project_id).status_code == 201
    assert admin.delete(f"{RBAC}/{r.json()['rbac_policy']['id']}").status_code == 204
    shown = admin.get(f"/v2.0/networks/{net['id']}").json()["network"]
    assert shown["shared"] is False and shown["revision_number"] == 4
    assert alice.get("/v2.0/networks").json()["networks"] == []
    assert bob.get(f"/v2.0/networks/{net['id']}").status_code == 200


def test_rbac_errors(alice, bob, admin):
    net = alice.network()
    neutron_error(_share(alice, net["id"], "*"), 403, "PolicyNotAuthorized")
    neutron_error(_share(bob, net["id"], bob.project_id), 404, "NetworkNotFound")
    assert _share(alice, net["id"], bob.project_id).status_code == 201
    neutron_error(_share(alice, net["id"], bob.project_id), 409, "DuplicateRbacPolicy")
    bad = alice.post(RBAC, {"rbac_policy": {"object_type": "network", "object_id": net["id"],
                                            "action": "access_as_viewer", "target_tenant": bob.project_id}})
    neutron_error(bad, 400, "HTTPBadRequest")
    neutron_error(alice.post(RBAC, {"rbac_policy": {"object_type": "network"}}), 400, "HTTPBadRequest")
    neutron_error(alice.get(f"{RBAC}?colour=red"), 400, "HTTPBadRequest")


@pytest.mark.dialect
def test_retarget_and_network_delete_removes_policies(alice, bob, admin):
    net = alice.network()
    policy = _share(alice, net["id"], bob.project_id).json()["rbac_policy"]
    moved = alice.put(f"{RBAC}/{policy['id']}", {"rbac_policy": {"target_tenant": admin.project_id}})
    assert moved.status_code == 200 and moved.json()["rbac_policy"]["id"] == policy["id"]
    neutron_error(bob.get(f"/v2.0/networks/{net['id']}"), 404, "NetworkNotFound")
    assert alice.delete(f"/v2.0/networks/{net['id']}").status_code == 204
    assert admin.get(RBAC).json()["rbac_policies"] == []


@pytest.mark.dialect
def test_shared_shows_what_the_caller_is_granted(alice, bob, admin):
    """Neutron's ``shared`` is per caller: true for a project the network is shared with (or
    for all), false for the owner when only another project was granted."""
    net = alice.network()
    assert _share(alice, net["id"], bob.project_id).status_code == 201
    assert bob.get(f"/v2.0/networks/{net['id']}").json()["network"]["shared"] is True
    assert [n["shared"] for n in bob.get("/v2.0/networks").json()["networks"]] == [True]
    assert alice.get(f"/v2.0/networks/{net['id']}").json()["network"]["shared"] is False
    assert admin.get(f"/v2.0/networks/{net['id']}").json()["network"]["shared"] is False
    updated = alice.put(f"/v2.0/networks/{net['id']}", {"network": {"name": "renamed"}}).json()["network"]
    assert updated["shared"] is False
    everyone = admin.put(f"/v2.0/networks/{net['id']}", {"network": {"shared": True}}).json()["network"]
    assert everyone["shared"] is True
    assert [n["shared"] for n in alice.get("/v2.0/networks").json()["networks"]] == [True]


def test_a_target_that_is_no_projects_id_is_refused_naming_the_id(alice, bob, admin):
    """New-user finding: sharing once with a project's name and once with its id made two
    policies, the one by name granting nothing. A target must be "*" or a project's id; a name
    is refused with the id it should have been, and nothing is made."""
    net = alice.network(name="a")
    bob_name = admin.get(f"/v3/projects/{bob.project_id}").json()["project"]["name"]
    by_name = neutron_error(_share(alice, net["id"], bob_name), 400, "HTTPBadRequest")
    assert bob.project_id in by_name["message"] and by_name["detail"] == "target_tenant"
    neutron_error(_share(alice, net["id"], "no-such-project"), 400, "HTTPBadRequest")
    assert alice.get(RBAC).json()["rbac_policies"] == []
    policy = _share(alice, net["id"], bob.project_id).json()["rbac_policy"]
    neutron_error(_share(alice, net["id"], bob.project_id), 409, "DuplicateRbacPolicy")
    moved = alice.put(f"{RBAC}/{policy['id']}", {"rbac_policy": {"target_tenant": bob_name}})
    neutron_error(moved, 400, "HTTPBadRequest")
    assert [p["target_tenant"] for p in alice.get(RBAC).json()["rbac_policies"]] == [bob.project_id]
