"""Acceptance: the real python-openstackclient with address scopes, subnet pools (in a scope, listed,
shown, a subnet with --subnet-pool --prefix-length) and external RBAC, each step checked against
what the store holds (the model's rows, read with SQLAlchemy) besides what the client shows, and
in OVN NB where the step has NB rows (the "nb" variant: the all-in-one)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from ovnet.model.schema import AddressScope, RbacPolicy, Subnet, SubnetPool
from ovnet.model.store import Store
from tests.helpers.osc import OPENSTACK, Osc

pytestmark = pytest.mark.skipif(not OPENSTACK.exists(), reason=f"python-openstackclient not installed at {OPENSTACK}")


def _rows(store: Store, query):
    return store.run(lambda s: [tuple(r) for r in s.execute(query)], True)


def test_openstackclient_address_scopes_and_pools(lifecycle_endpoint):
    endpoint = lifecycle_endpoint
    osc = Osc(endpoint.clouds_yaml)
    store = Store(endpoint.settings.sql_url)
    try:
        scope = osc.json("address", "scope", "create", "--ip-version", "4", "acc-scope")
        assert scope["ip_version"] == 4 and scope["name"] == "acc-scope"
        assert _rows(store, select(AddressScope.id, AddressScope.ip_version)) == [(scope["id"], 4)]
        assert [s["ID"] for s in osc.json("address", "scope", "list")] == [scope["id"]]

        pool = osc.json("subnet", "pool", "create", "--pool-prefix", "10.80.0.0/16", "--default-prefix-length", "24",
                        "--address-scope", "acc-scope", "acc-scoped")
        assert pool["address_scope_id"] == scope["id"]
        clash = osc.run("subnet", "pool", "create", "--pool-prefix", "10.80.128.0/17", "--address-scope", "acc-scope",
                        "acc-clash", check=False)
        assert clash.returncode != 0 and "unique prefixes" in clash.stderr, clash.stderr
        assert [p["Name"] for p in osc.json("subnet", "pool", "list")] == ["acc-scoped"]
        assert _rows(store, select(SubnetPool.name, SubnetPool.address_scope_id, SubnetPool.prefixes)) == [
            ("acc-scoped", scope["id"], ["10.80.0.0/16"])]

        net = osc.json("network", "create", "acc-scoped-net")
        endpoint.after("network", net["id"], net)
        sub = osc.json("subnet", "create", "--network", "acc-scoped-net", "--subnet-pool", "acc-scoped",
                       "--prefix-length", "26", "acc-scoped-sub")
        assert sub["cidr"] == "10.80.0.0/26" and sub["subnetpool_id"] == pool["id"]
        endpoint.after("subnet", sub["id"], sub)
        assert _rows(store, select(Subnet.cidr, Subnet.subnetpool_id)) == [("10.80.0.0/26", pool["id"])]
        assert osc.json("network", "show", net["id"])["ipv4_address_scope"] == scope["id"]

        in_use = osc.run("address", "scope", "delete", "acc-scope", check=False)
        assert in_use.returncode != 0 and "in use" in in_use.stderr, in_use.stderr
        osc.run("subnet", "delete", "acc-scoped-sub")
        endpoint.after("subnet", sub["id"], None)
        osc.run("subnet", "pool", "delete", "acc-scoped")
        osc.run("address", "scope", "delete", "acc-scope")
        assert osc.json("address", "scope", "list") == [] and _rows(store, select(AddressScope.id)) == []
    finally:
        store.dispose()


def test_openstackclient_external_rbac(endpoint):
    osc = Osc(endpoint.clouds_yaml)
    store = Store(endpoint.settings.sql_url)
    try:
        net = osc.json("network", "create", "--external", "acc-ext")
        assert net["router:external"] is True
        assert _rows(store, select(RbacPolicy.action, RbacPolicy.target_project)) == [("access_as_external", "*")]
        listed = osc.json("network", "rbac", "list", "--action", "access_as_external")
        assert len(listed) == 1
        osc.run("network", "rbac", "delete", listed[0]["ID"])
        assert osc.json("network", "show", "acc-ext")["router:external"] is False
        assert _rows(store, select(RbacPolicy.id)) == []
    finally:
        store.dispose()


def test_openstackclient_quota_show_without_network(endpoint):
    """``openstack quota show PROJECT`` asks each service in the catalog; ovnet's lists only the
    network service, so the network quotas come back (it used to ask Nova and fail with 404)."""
    osc = Osc(endpoint.clouds_yaml)
    osc.run("quota", "set", "--networks", "3", "--ports", "9", "admin")
    shown = {row["Resource"]: row["Limit"] for row in osc.json("quota", "show", "admin")}
    assert shown["networks"] == 3 and shown["ports"] == 9 and shown["subnets"] == -1, shown
    assert "cores" not in shown and "volumes" not in shown
