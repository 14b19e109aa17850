"""Projects are isolated: same CIDR and same fixed IP in two projects; others' resources are 404."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from ovnet.model.schema import Port
from tests.unit.api.conftest import MAX_BODY, neutron_error


@pytest.mark.dialect
def test_two_projects_use_the_same_cidr_and_the_same_fixed_ip(alice, bob):
    ports = []
    for caller in (alice, bob):
        network = caller.network(name="same")
        subnet = caller.subnet(network["id"], "192.168.10.0/24")
        ports.append(caller.port(network["id"], fixed_ips=[{"subnet_id": subnet["id"], "ip_address": "192.168.10.5"}]))
    assert [p["fixed_ips"][0]["ip_address"] for p in ports] == ["192.168.10.5", "192.168.10.5"]
    assert ports[0]["project_id"] == alice.project_id and ports[1]["project_id"] == bob.project_id


def test_member_reading_another_projects_port_gets_404(alice, bob):
    network = alice.network()
    alice.subnet(network["id"], "10.0.0.0/24")
    port = alice.port(network["id"])
    neutron_error(bob.get(f"/v2.0/ports/{port['id']}"), 404, "PortNotFound")
    neutron_error(bob.put(f"/v2.0/ports/{port['id']}", {"port": {"name": "mine"}}), 404, "PortNotFound")
    neutron_error(bob.delete(f"/v2.0/ports/{port['id']}"), 404, "PortNotFound")
    neutron_error(bob.get(f"/v2.0/networks/{network['id']}"), 404, "NetworkNotFound")
    neutron_error(bob.post("/v2.0/ports", {"port": {"network_id": network["id"]}}), 404, "NetworkNotFound")
    assert alice.get(f"/v2.0/ports/{port['id']}").json()["port"]["name"] == ""


@pytest.mark.dialect
def test_lists_show_only_the_callers_project_and_admin_sees_all(admin, alice, bob):
    alice.network(name="a")
    bob.network(name="b")
    assert [n["name"] for n in alice.get("/v2.0/networks").json()["networks"]] == ["a"]
    assert [n["name"] for n in bob.get("/v2.0/networks").json()["networks"]] == ["b"]
    assert sorted(n["name"] for n in admin.get("/v2.0/networks").json()["networks"]) == ["a", "b"]
    # a filter cannot widen what a member sees
    assert bob.get(f"/v2.0/networks?project_id={alice.project_id}").json()["networks"] == []


def test_admin_creates_on_behalf_of_a_project(admin, alice):
    network = admin.network(name="for-alice", project_id=alice.project_id)
    assert network["project_id"] == network["tenant_id"] == alice.project_id
    subnet = admin.subnet(network["id"], "10.0.0.0/24", tenant_id=alice.project_id)
    assert subnet["project_id"] == alice.project_id
    assert [n["id"] for n in alice.get("/v2.0/networks").json()["networks"]] == [network["id"]]


@pytest.mark.dialect
def test_shared_network_is_visible_and_usable_but_not_owned(admin, alice, bob):
    network = admin.network(name="public", shared=True)
    admin.subnet(network["id"], "10.50.0.0/24")
    assert [n["id"] for n in bob.get("/v2.0/networks").json()["networks"]] == [network["id"]]
    port = bob.port(network["id"])
    assert port["project_id"] == bob.project_id
    neutron_error(alice.get(f"/v2.0/ports/{port['id']}"), 404, "PortNotFound")
    neutron_error(bob.put(f"/v2.0/networks/{network['id']}", {"network": {"name": "x"}}), 403, "PolicyNotAuthorized")
    neutron_error(bob.delete(f"/v2.0/networks/{network['id']}"), 403, "PolicyNotAuthorized")


def test_a_revoked_token_is_refused_on_the_next_request(store, alice, bob):
    """No cache keeps a revoked token alive: revoking writes the store (as `ovnet project token
    --revoke` does from another process) and the very next request is 401."""
    from ovnet.model.tenancy import OPERATOR, revoke_tokens

    for _ in range(3):
        assert alice.get("/v2.0/networks").status_code == 200
    store.run(lambda s: revoke_tokens(s, OPERATOR, alice.project_id, alice.token))
    neutron_error(alice.get("/v2.0/networks"), 401, "NotAuthorized")
    assert bob.get("/v2.0/networks").status_code == 200


def test_a_create_checks_its_token_in_its_own_transaction_and_before_its_body(store, client, alice):
    """A create reads the token in its write transaction: a revocation committed before it is
    refused at once, nothing is written, and 401 still comes before 413 and 400."""
    from ovnet.model.tenancy import OPERATOR, revoke_tokens

    network = alice.network()
    alice.port(network["id"])
    store.run(lambda s: revoke_tokens(s, OPERATOR, alice.project_id, alice.token))
    neutron_error(alice.post("/v2.0/ports", {"port": {"network_id": network["id"]}}), 401, "NotAuthorized")
    neutron_error(alice.post("/v2.0/ports", {"ports": [{"network_id": network["id"]}] * 2}), 401, "NotAuthorized")
    for headers in ({}, {"X-Auth-Token": "not-a-token"}):
        for body in (b"{not json", b"[]", b" " * (MAX_BODY + 1)):
            r = client.post("/v2.0/ports", content=body, headers={"Content-Type": "application/json", **headers})
            neutron_error(r, 401, "NotAuthorized")
    count = store.run(lambda s: s.scalar(select(func.count()).select_from(Port)), True)
    assert count == 1


@pytest.mark.dialect
def test_an_expired_token_is_refused(store, alice):
    import datetime as dt

    from sqlalchemy import update

    from ovnet.model.schema import Token, utcnow

    assert alice.get("/v2.0/networks").status_code == 200
    store.run(lambda s: s.execute(update(Token).where(Token.project_id == alice.project_id)
                                  .values(expires_at=utcnow() - dt.timedelta(seconds=1))))
    assert "expired" in neutron_error(alice.get("/v2.0/networks"), 401, "NotAuthorized")["message"]
