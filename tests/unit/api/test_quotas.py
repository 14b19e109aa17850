"""/v2.0/quotas: defaults from settings, per-project limits set by an admin, 409 OverQuota past them."""

from __future__ import annotations

import pytest

from ovnet.api.app import create_app
from ovnet.model.common import Defaults
from tests.unit.api.conftest import TestClient, neutron_error


@pytest.mark.dialect
def test_no_limit_by_default_and_admin_sets_one(admin, alice, bob):
    assert alice.get(f"/v2.0/quotas/{alice.project_id}").json()["quota"] == {
        "network": -1, "subnet": -1, "subnetpool": -1, "port": -1, "rbac_policy": -1, "router": -1, "floatingip": -1,
        "security_group": -1, "security_group_rule": -1}
    r = admin.put(f"/v2.0/quotas/{alice.project_id}", {"quota": {"network": 2, "port": 3}})
    assert r.status_code == 200 and r.json()["quota"]["network"] == 2
    net = alice.network()
    alice.network()
    neutron_error(alice.post("/v2.0/networks", {"network": {}}), 409, "OverQuota")
    bob.network()  # other projects are not limited by alice's quota
    alice.subnet(net["id"], "10.0.0.0/24")
    r = alice.post("/v2.0/ports", {"ports": [{"network_id": net["id"]}] * 4})  # a bulk counts its own items
    neutron_error(r, 409, "OverQuota")
    assert alice.get("/v2.0/ports").json()["ports"] == []
    for _ in range(3):
        alice.port(net["id"])
    details = alice.get(f"/v2.0/quotas/{alice.project_id}/details").json()["quota"]
    assert details["port"] == {"limit": 3, "used": 3, "reserved": 0} and details["network"]["used"] == 2
    listed = admin.get("/v2.0/quotas").json()["quotas"]
    assert [q["project_id"] for q in listed] == [alice.project_id] and listed[0]["port"] == 3
    r = admin.put(f"/v2.0/quotas/{alice.project_id}", {"quota": {"port": 2, "check_limit": True}})
    neutron_error(r, 409, "InvalidQuotaValue")
    assert admin.put(f"/v2.0/quotas/{alice.project_id}", {"quota": {"port": 2}}).status_code == 200
    assert admin.delete(f"/v2.0/quotas/{alice.project_id}").status_code == 204
    alice.network()


def test_quota_permissions_and_bad_input(admin, alice, bob):
    neutron_error(alice.put(f"/v2.0/quotas/{alice.project_id}", {"quota": {"port": 100}}), 403, "PolicyNotAuthorized")
    neutron_error(alice.get(f"/v2.0/quotas/{bob.project_id}"), 403, "PolicyNotAuthorized")
    neutron_error(alice.get("/v2.0/quotas"), 403, "PolicyNotAuthorized")
    neutron_error(alice.delete(f"/v2.0/quotas/{alice.project_id}"), 403, "PolicyNotAuthorized")
    for body in ({"quota": {"port": -2}}, {"quota": {"colour": 1}}, {"quota": {"port": "many"}}, {"quota": []},
                 {"port": 1}, {"quota": {"port": 1 << 40}}):
        neutron_error(admin.put(f"/v2.0/quotas/{alice.project_id}", body), 400, "HTTPBadRequest")
    assert admin.get(f"/v2.0/quotas/{alice.project_id}").json()["quota"]["port"] == -1


@pytest.fixture
def limited(store):
    with TestClient(create_app(store, defaults=Defaults(quotas={"network": 1, "subnet": 1, "rbac_policy": 0}))) as c:
        yield c


def test_defaults_come_from_settings(store, limited):
    from tests.unit.api.conftest import _caller

    carol = _caller(store, limited, "carol", "member")
    admin = _caller(store, limited, "admin", "admin")
    assert carol.get(f"/v2.0/quotas/{carol.project_id}/default").json()["quota"]["network"] == 1
    net = carol.network()
    neutron_error(carol.post("/v2.0/networks", {"network": {}}), 409, "OverQuota")
    carol.subnet(net["id"], "10.0.0.0/24")
    r = carol.post("/v2.0/subnets", {"subnet": {"network_id": net["id"], "cidr": "10.1.0.0/24", "ip_version": 4}})
    neutron_error(r, 409, "OverQuota")
    r = carol.post("/v2.0/rbac-policies", {"rbac_policy": {"object_type": "network", "object_id": net["id"],
                                                            "action": "access_as_shared",
                                                            "target_tenant": admin.project_id}})
    neutron_error(r, 409, "OverQuota")
    admin.put(f"/v2.0/quotas/{carol.project_id}", {"quota": {"network": -1}})
    carol.network()


def test_settings_carry_quota_defaults(tmp_path, monkeypatch):
    from ovnet.config import load_settings

    monkeypatch.setenv("OVNET_QUOTA_PORT", "500")
    settings = load_settings(tmp_path)
    assert settings.quota_port == 500 and settings.quota_network == -1


def test_router_quota(admin, alice):
    admin.put(f"/v2.0/quotas/{alice.project_id}", {"quota": {"router": 1}})
    assert alice.post("/v2.0/routers", {"router": {"name": "r1"}}).status_code == 201
    neutron_error(alice.post("/v2.0/routers", {"router": {"name": "r2"}}), 409, "OverQuota")


@pytest.mark.dialect
def test_security_group_router_and_floatingip_quotas(admin, alice, bob):
    """409 OverQuota past each limit (Neutron's quota_security_group, quota_security_group_rule,
    quota_router, quota_floatingip); the default group and the rules a group is made with count
    but are never refused; other projects are not limited."""
    public = admin.network(name="public", **{"router:external": True, "provider:network_type": "flat",
                                             "provider:physical_network": "public"})
    admin.subnet(public["id"], "10.50.50.0/24")
    limits = {"security_group": 2, "security_group_rule": 7, "router": 1, "floatingip": 1}
    assert admin.put(f"/v2.0/quotas/{alice.project_id}", {"quota": limits}).status_code == 200
    made = alice.post("/v2.0/security-groups", {"security_group": {"name": "web"}})
    assert made.status_code == 201  # "default" (made on first use) and "web": 2 groups, 6 rules
    group = made.json()["security_group"]
    neutron_error(alice.post("/v2.0/security-groups", {"security_group": {"name": "more"}}), 409, "OverQuota")
    rule = {"security_group_id": group["id"], "direction": "ingress", "protocol": "tcp"}
    assert alice.post("/v2.0/security-group-rules", {"security_group_rule": rule}).status_code == 201
    neutron_error(alice.post("/v2.0/security-group-rules", {"security_group_rule": {**rule, "protocol": "udp"}}),
                  409, "OverQuota")
    assert alice.post("/v2.0/routers", {"router": {"name": "r1"}}).status_code == 201
    neutron_error(alice.post("/v2.0/routers", {"router": {"name": "r2"}}), 409, "OverQuota")
    fip = {"floatingip": {"floating_network_id": public["id"]}}
    assert alice.post("/v2.0/floatingips", fip).status_code == 201
    neutron_error(alice.post("/v2.0/floatingips", fip), 409, "OverQuota")
    details = alice.get(f"/v2.0/quotas/{alice.project_id}/details").json()["quota"]
    assert {k: details[k]["used"] for k in limits} == {"security_group": 2, "security_group_rule": 7,
                                                       "router": 1, "floatingip": 1}
    assert bob.post("/v2.0/security-groups", {"security_group": {"name": "web"}}).status_code == 201
    assert bob.post("/v2.0/routers", {"router": {"name": "r1"}}).status_code == 201
    assert bob.post("/v2.0/routers", {"router": {"name": "r2"}}).status_code == 201


@pytest.mark.dialect
def test_subnetpool_quota(admin, alice, bob):
    """Neutron counts subnet pools against quota_subnetpool (``openstack quota set --subnetpools``):
    the key was refused as unrecognised and any number of pools could be made."""
    def pool(caller, prefix: str):
        return caller.post("/v2.0/subnetpools", {"subnetpool": {"name": "p", "prefixes": [prefix]}})

    assert admin.put(f"/v2.0/quotas/{alice.project_id}", {"quota": {"subnetpool": 1}}).status_code == 200
    assert pool(alice, "10.60.0.0/16").status_code == 201
    neutron_error(pool(alice, "10.61.0.0/16"), 409, "OverQuota")
    neutron_error(alice.post("/v2.0/subnetpools", {"subnetpools": [{"prefixes": ["10.62.0.0/16"]}]}), 409, "OverQuota")
    assert len(alice.get("/v2.0/subnetpools").json()["subnetpools"]) == 1
    assert alice.get(f"/v2.0/quotas/{alice.project_id}/details").json()["quota"]["subnetpool"] == {
        "limit": 1, "used": 1, "reserved": 0}
    assert pool(bob, "10.63.0.0/16").status_code == 201
