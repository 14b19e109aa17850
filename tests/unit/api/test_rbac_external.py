"""access_as_external RBAC policies: a network external to one project or to all, kept equal to
``router:external`` (Neutron's external_net_db)."""

from __future__ import annotations

import pytest

from tests.unit.api.conftest import neutron_error

RBAC = "/v2.0/rbac-policies"


def _external(caller, net_id: str, target: str):
    return caller.post(RBAC, {"rbac_policy": {"object_type": "network", "object_id": net_id,
                                               "action": "access_as_external", "target_tenant": target}})


def _gateway(caller, router_id: str, network_id: str | None):
    info = {"network_id": network_id} if network_id else {}
    return caller.put(f"/v2.0/routers/{router_id}", {"router": {"external_gateway_info": info}})


def _uplink(admin) -> dict:
    net = admin.network(name="uplink")
    admin.subnet(net["id"], "10.60.0.0/24")
    return net


@pytest.mark.dialect
def test_external_to_one_project(admin, alice, bob):
    net = _uplink(admin)
    neutron_error(alice.get(f"/v2.0/networks/{net['id']}"), 404, "NetworkNotFound")
    r = _external(admin, net["id"], alice.project_id)
    assert r.status_code == 201, r.text
    policy = r.json()["rbac_policy"]
    assert policy["action"] == "access_as_external" and policy["target_tenant"] == alice.project_id
    seen = alice.get(f"/v2.0/networks/{net['id']}").json()["network"]
    assert seen["router:external"] is True and seen["shared"] is False
    assert alice.get(f"/v2.0/subnets?network_id={net['id']}").json()["subnets"]
    neutron_error(bob.get(f"/v2.0/networks/{net['id']}"), 404, "NetworkNotFound")
    assert bob.get("/v2.0/networks?router:external=true").json()["networks"] == []
    router = alice.post("/v2.0/routers", {"router": {"name": "r"}}).json()["router"]
    r = _gateway(alice, router["id"], net["id"])
    assert r.status_code == 200, r.text
    bobs = bob.post("/v2.0/routers", {"router": {"name": "r"}}).json()["router"]
    neutron_error(_gateway(bob, bobs["id"], net["id"]), 404, "NetworkNotFound")
    # alice's gateway relies on the grant: it cannot go while the gateway is there.
    neutron_error(admin.delete(f"{RBAC}/{policy['id']}"), 409, "RbacPolicyInUse")
    neutron_error(admin.put(f"{RBAC}/{policy['id']}", {"rbac_policy": {"target_tenant": bob.project_id}}),
                  409, "RbacPolicyInUse")
    assert _gateway(alice, router["id"], None).status_code == 200
    assert admin.delete(f"{RBAC}/{policy['id']}").status_code == 204
    # The last external grant gone, the network is no longer external.
    assert admin.get(f"/v2.0/networks/{net['id']}").json()["network"]["router:external"] is False
    neutron_error(alice.get(f"/v2.0/networks/{net['id']}"), 404, "NetworkNotFound")


def test_router_external_flag_is_the_everyone_grant(admin, alice, bob):
    net = _uplink(admin)
    r = admin.put(f"/v2.0/networks/{net['id']}", {"network": {"router:external": True}})
    assert r.status_code == 200 and r.json()["network"]["router:external"] is True
    policies = admin.get(f"{RBAC}?object_id={net['id']}").json()["rbac_policies"]
    assert [(p["action"], p["target_tenant"]) for p in policies] == [("access_as_external", "*")]
    assert bob.get(f"/v2.0/networks/{net['id']}").status_code == 200
    neutron_error(_external(admin, net["id"], "*"), 409, "DuplicateRbacPolicy")
    neutron_error(_external(alice, net["id"], alice.project_id), 403, "PolicyNotAuthorized")
    assert admin.put(f"/v2.0/networks/{net['id']}", {"network": {"router:external": False}}).status_code == 200
    assert admin.get(f"{RBAC}?object_id={net['id']}").json()["rbac_policies"] == []
    neutron_error(bob.get(f"/v2.0/networks/{net['id']}"), 404, "NetworkNotFound")
    created = admin.network(name="born-external", **{"router:external": True})
    policies = admin.get(f"{RBAC}?object_id={created['id']}").json()["rbac_policies"]
    assert [(p["action"], p["target_tenant"]) for p in policies] == [("access_as_external", "*")]
    assert created["revision_number"] == 1


def test_a_member_makes_its_own_network_external_to_another_project(alice, bob):
    net = alice.network(name="mine")
    neutron_error(_external(alice, net["id"], "*"), 403, "PolicyNotAuthorized")
    assert _external(alice, net["id"], bob.project_id).status_code == 201
    assert bob.get(f"/v2.0/networks/{net['id']}").json()["network"]["router:external"] is True
    neutron_error(bob.post("/v2.0/ports", {"port": {"network_id": net["id"], "mac_address": "fa:16:3e:00:00:01"}}),
                  403, "PolicyNotAuthorized")
