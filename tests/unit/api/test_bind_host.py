"""PUT /v2.0/ports/{id}/bind_host: the host agents' one-round-trip bind (ovnet.api.binding)."""

from __future__ import annotations

import pytest

from tests.unit.api.conftest import neutron_error


def _arrange(caller):
    network = caller.network(name="n")
    v4 = caller.subnet(network["id"], "10.5.0.0/24", host_routes=[{"destination": "10.9.0.0/16",
                                                                   "nexthop": "10.5.0.254"}])
    caller.subnet(network["id"], "10.6.0.0/24")  # not the port's: not in the answer
    port = caller.port(network["id"], fixed_ips=[{"subnet_id": v4["id"]}])
    return network, v4, port


def test_bind_sets_the_host_and_answers_port_network_and_the_ports_subnets(admin, alice):
    network, v4, port = _arrange(alice)
    r = admin.put(f"/v2.0/ports/{port['id']}/bind_host", {"host": "chassis-a"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["changed"] is True and r.headers["X-Ovnet-Sync"] == "pending"
    assert body["port"]["binding:host_id"] == "chassis-a" and body["port"]["binding:vif_type"] == "ovs"
    assert body["network"]["id"] == network["id"] and body["network"]["mtu"] == 1442
    assert [s["id"] for s in body["subnets"]] == [v4["id"]]
    assert body["subnets"][0]["host_routes"] == [{"destination": "10.9.0.0/16", "nexthop": "10.5.0.254"}]
    assert admin.get(f"/v2.0/ports/{port['id']}").json()["port"]["binding:host_id"] == "chassis-a"

    again = admin.put(f"/v2.0/ports/{port['id']}/bind_host", {"host": "chassis-a"})
    assert again.status_code == 200 and again.json()["changed"] is False
    assert "X-Ovnet-Sync" not in again.headers


@pytest.mark.dialect
def test_a_port_bound_elsewhere_is_a_conflict_and_stays_there(admin, alice):
    _network, _v4, port = _arrange(alice)
    admin.put(f"/v2.0/ports/{port['id']}/bind_host", {"host": "chassis-a"})
    neutron_error(admin.put(f"/v2.0/ports/{port['id']}/bind_host", {"host": "chassis-b"}), 409,
                  "PortBindingConflict")
    assert admin.get(f"/v2.0/ports/{port['id']}").json()["port"]["binding:host_id"] == "chassis-a"


def test_only_the_admin_binds_and_bad_requests_are_neutron_errors(admin, alice):
    _network, _v4, port = _arrange(alice)
    neutron_error(alice.put(f"/v2.0/ports/{port['id']}/bind_host", {"host": "chassis-a"}), 403,
                  "PolicyNotAuthorized")
    neutron_error(admin.put("/v2.0/ports/0b5e3f4c-1111-4222-8333-444455556666/bind_host", {"host": "c"}), 404,
                  "PortNotFound")
    for body in ({}, {"host": ""}, {"host": 3}, {"host": "c", "other": 1}, {"host": "c", "port": []},
                 {"host": "c", "port": {"binding:host_id": "d"}}, {"host": "c", "port": {"mac_address": "x"}}):
        neutron_error(admin.put(f"/v2.0/ports/{port['id']}/bind_host", body), 400, "HTTPBadRequest")
    assert admin.get(f"/v2.0/ports/{port['id']}").json()["port"]["binding:host_id"] == ""


@pytest.mark.dialect
def test_other_attributes_are_set_in_the_same_write(admin, alice):
    _network, _v4, port = _arrange(alice)
    attrs = {"device_id": "ep-1", "device_owner": "ovnet:docker", "name": "docker-ep",
             "binding:profile": {"docker_network_id": "d1"}}
    r = admin.put(f"/v2.0/ports/{port['id']}/bind_host", {"host": "chassis-a", "port": attrs})
    assert r.status_code == 200, r.text
    assert r.json()["changed"] is True
    shown = admin.get(f"/v2.0/ports/{port['id']}").json()["port"]
    assert {k: shown[k] for k in attrs} == attrs and shown["binding:host_id"] == "chassis-a"
    # Bound here already, attributes given: still a write.
    again = admin.put(f"/v2.0/ports/{port['id']}/bind_host", {"host": "chassis-a", "port": {"name": "renamed"}})
    assert again.json()["changed"] is True and again.json()["port"]["name"] == "renamed"


def test_a_port_owned_by_network_is_refused_at_once_and_stays_unbound(admin, alice):
    # New-user finding: binding a router interface waited out the 30 s ovn-installed timeout.
    network, _v4, port = _arrange(alice)
    router = admin.port(network["id"], device_owner="network:router_interface", device_id="r1")
    dhcp = admin.port(network["id"], device_owner="network:dhcp")
    for owned in (router, dhcp):
        r = admin.put(f"/v2.0/ports/{owned['id']}/bind_host", {"host": "chassis-a"})
        neutron_error(r, 409, "PortNotBindable")
        assert owned["device_owner"] in r.json()["NeutronError"]["message"]
        assert admin.get(f"/v2.0/ports/{owned['id']}").json()["port"]["binding:host_id"] == ""
    r = admin.put(f"/v2.0/ports/{port['id']}/bind_host", {"host": "chassis-a", "port": {"device_owner": "network:x"}})
    neutron_error(r, 409, "PortNotBindable")
    after = admin.get(f"/v2.0/ports/{port['id']}").json()["port"]
    assert (after["binding:host_id"], after["device_owner"]) == ("", "")
    compute = admin.put(f"/v2.0/ports/{port['id']}/bind_host", {"host": "chassis-a", "port": {"device_owner": "compute:x"}})
    assert compute.status_code == 200, compute.text
