"""Attributes, defaults and lifecycle of networks, subnets and ports as Neutron defines them."""

from __future__ import annotations

import re

import pytest

from ovnet.model import stats, syncer_io
from tests.unit.api.conftest import neutron_error

TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


@pytest.mark.dialect
def test_network_defaults(alice):
    net = alice.network(name="n")
    assert net["mtu"] == 1442 and net["status"] == "ACTIVE" and net["admin_state_up"] is True
    assert net["shared"] is False and net["port_security_enabled"] is True and net["subnets"] == []
    assert net["tenant_id"] == net["project_id"] == alice.project_id
    assert net["revision_number"] == 1 and TIME.match(net["created_at"]) and TIME.match(net["updated_at"])
    assert alice.network(mtu=1400)["mtu"] == 1400


@pytest.mark.dialect
def test_update_bumps_revision_and_noop_does_not(alice):
    net = alice.network(name="n")
    updated = alice.put(f"/v2.0/networks/{net['id']}", {"network": {"name": "m", "admin_state_up": False}}).json()
    assert updated["network"]["revision_number"] == 2 and updated["network"]["name"] == "m"
    same = alice.put(f"/v2.0/networks/{net['id']}", {"network": {"name": "m"}}).json()
    assert same["network"]["revision_number"] == 2


@pytest.mark.dialect
def test_subnet_defaults_v4_and_v6(alice):
    net = alice.network()
    v4 = alice.subnet(net["id"], "10.0.0.0/24")
    assert v4["gateway_ip"] == "10.0.0.1" and v4["enable_dhcp"] is True
    assert v4["allocation_pools"] == [{"start": "10.0.0.2", "end": "10.0.0.254"}]
    v6 = alice.subnet(net["id"], "fd00:1::/64")
    assert v6["gateway_ip"] == "fd00:1::1"
    assert v6["allocation_pools"] == [{"start": "fd00:1::2", "end": "fd00:1::ffff:ffff:ffff:ffff"}]
    assert alice.get(f"/v2.0/networks/{net['id']}").json()["network"]["subnets"] == [v4["id"], v6["id"]]


def test_subnet_without_gateway_and_with_a_gateway_mid_range(alice):
    net = alice.network()
    none = alice.subnet(net["id"], "10.0.0.0/29", gateway_ip=None)
    assert none["gateway_ip"] is None and none["allocation_pools"] == [{"start": "10.0.0.1", "end": "10.0.0.6"}]
    mid = alice.subnet(net["id"], "10.0.1.0/29", gateway_ip="10.0.1.4")
    assert mid["allocation_pools"] == [{"start": "10.0.1.1", "end": "10.0.1.3"}, {"start": "10.0.1.5", "end": "10.0.1.6"}]


@pytest.mark.dialect
def test_subnet_update_pools_dns_routes(alice):
    net = alice.network()
    sub = alice.subnet(net["id"], "10.0.0.0/24")
    changes = {"allocation_pools": [{"start": "10.0.0.100", "end": "10.0.0.110"}], "dns_nameservers": ["10.0.0.53"],
               "host_routes": [{"destination": "10.9.0.0/16", "nexthop": "10.0.0.254"}], "enable_dhcp": False}
    updated = alice.put(f"/v2.0/subnets/{sub['id']}", {"subnet": changes}).json()["subnet"]
    assert {k: updated[k] for k in changes} == changes and updated["revision_number"] == 2
    assert alice.port(net["id"])["fixed_ips"][0]["ip_address"] == "10.0.0.100"


@pytest.mark.dialect
def test_port_defaults(alice, admin):
    net = alice.network()
    sub = alice.subnet(net["id"], "10.0.0.0/24")
    port = alice.port(net["id"])
    assert port["status"] == "DOWN" and port["admin_state_up"] is True
    assert port["fixed_ips"] == [{"subnet_id": sub["id"], "ip_address": "10.0.0.2"}]
    assert re.match(r"^fa:16:3e(:[0-9a-f]{2}){3}$", port["mac_address"])
    seen = admin.get(f"/v2.0/ports/{port['id']}").json()["port"]  # binding:* is the admin's to see
    assert seen["binding:host_id"] == "" and seen["binding:vif_type"] == "unbound"
    assert port["port_security_enabled"] is True and port["allowed_address_pairs"] == []
    assert port["device_owner"] == "" and port["device_id"] == ""


def test_port_inherits_port_security_of_its_network(alice):
    net = alice.network(port_security_enabled=False)
    assert alice.port(net["id"])["port_security_enabled"] is False


@pytest.mark.dialect
def test_requested_ip_and_mac_are_honoured(alice):
    net = alice.network()
    sub = alice.subnet(net["id"], "10.0.0.0/24", allocation_pools=[{"start": "10.0.0.10", "end": "10.0.0.20"}])
    # inside the subnet but outside the pool is allowed, as in Neutron
    port = alice.port(net["id"], mac_address="fa:16:3e:01:02:03", fixed_ips=[{"ip_address": "10.0.0.200"}])
    assert port["mac_address"] == "fa:16:3e:01:02:03"
    assert port["fixed_ips"] == [{"subnet_id": sub["id"], "ip_address": "10.0.0.200"}]


@pytest.mark.dialect
def test_deleted_ports_ips_are_free_again(alice):
    net = alice.network()
    alice.subnet(net["id"], "10.0.0.0/24")
    port = alice.port(net["id"], fixed_ips=[{"ip_address": "10.0.0.9"}])
    assert alice.delete(f"/v2.0/ports/{port['id']}").status_code == 204
    assert alice.port(net["id"], fixed_ips=[{"ip_address": "10.0.0.9"}])["fixed_ips"][0]["ip_address"] == "10.0.0.9"


@pytest.mark.dialect
def test_update_fixed_ips_keeps_frees_and_adds(alice):
    net = alice.network()
    sub = alice.subnet(net["id"], "10.0.0.0/24")
    port = alice.port(net["id"], fixed_ips=[{"ip_address": "10.0.0.5"}, {"ip_address": "10.0.0.6"}])
    body = {"port": {"fixed_ips": [{"ip_address": "10.0.0.6"}, {"subnet_id": sub["id"], "ip_address": "10.0.0.7"}]}}
    updated = alice.put(f"/v2.0/ports/{port['id']}", body).json()["port"]
    assert sorted(ip["ip_address"] for ip in updated["fixed_ips"]) == ["10.0.0.6", "10.0.0.7"]
    assert updated["revision_number"] == 2
    assert alice.port(net["id"], fixed_ips=[{"ip_address": "10.0.0.5"}])  # freed by the update


@pytest.mark.dialect
def test_binding_and_address_pairs(alice, admin):
    net = alice.network()
    alice.subnet(net["id"], "10.0.0.0/24")
    port = alice.port(net["id"], allowed_address_pairs=[{"ip_address": "10.0.0.100"},
                                                        {"ip_address": "10.8.0.0/24", "mac_address": "fa:16:3e:00:00:01"}])
    assert port["allowed_address_pairs"] == [{"ip_address": "10.0.0.100", "mac_address": port["mac_address"]},
                                             {"ip_address": "10.8.0.0/24", "mac_address": "fa:16:3e:00:00:01"}]
    bound = admin.put(f"/v2.0/ports/{port['id']}", {"port": {"binding:host_id": "host-1"}}).json()["port"]
    assert bound["binding:host_id"] == "host-1" and bound["binding:vif_type"] == "ovs"
    neutron_error(alice.put(f"/v2.0/ports/{port['id']}", {"port": {"port_security_enabled": False}}), 409,
                  "AddressPairAndPortSecurityRequired")


def test_ipv6_slaac_port_gets_its_eui64_address(alice):
    net = alice.network()
    alice.subnet(net["id"], "10.0.0.0/24")
    v6 = alice.subnet(net["id"], "fd00:2::/64", ipv6_address_mode="slaac", ipv6_ra_mode="slaac")
    port = alice.port(net["id"], mac_address="fa:16:3e:12:34:56")
    assert {"subnet_id": v6["id"], "ip_address": "fd00:2::f816:3eff:fe12:3456"} in port["fixed_ips"]
    r = alice.post("/v2.0/ports", {"port": {"network_id": net["id"], "fixed_ips": [{"ip_address": "fd00:2::5"}]}})
    neutron_error(r, 400, "InvalidInput")


@pytest.mark.dialect
def test_ipv6_stateful_allocation_and_request(alice):
    net = alice.network()
    v6 = alice.subnet(net["id"], "fd00:3::/64", ipv6_address_mode="dhcpv6-stateful", ipv6_ra_mode="dhcpv6-stateful")
    auto = alice.port(net["id"])["fixed_ips"]
    assert len(auto) == 1 and auto[0]["subnet_id"] == v6["id"] and auto[0]["ip_address"].startswith("fd00:3::")
    asked = alice.port(net["id"], fixed_ips=[{"ip_address": "fd00:3::abcd"}])["fixed_ips"]
    assert asked == [{"subnet_id": v6["id"], "ip_address": "fd00:3::abcd"}]


@pytest.mark.dialect
def test_tags_api(alice):
    net = alice.network()
    base = f"/v2.0/networks/{net['id']}/tags"
    assert alice.put(base, {"tags": ["a", "b"]}).json() == {"tags": ["a", "b"]}
    assert alice.put(f"{base}/c").status_code == 201
    assert alice.get(f"{base}/c").status_code == 204
    assert alice.delete(f"{base}/a").status_code == 204
    neutron_error(alice.get(f"{base}/a"), 404, "TagNotFound")
    shown = alice.get(f"/v2.0/networks/{net['id']}").json()["network"]
    assert shown["tags"] == ["b", "c"] and shown["revision_number"] == 4
    assert alice.delete(base).status_code == 204
    assert alice.get(base).json() == {"tags": []}


@pytest.mark.dialect
def test_every_change_writes_an_outbox_row_and_status_comes_from_the_syncer(store, alice):
    def pending():
        with store.session(readonly=True) as s:
            return [(e.resource_type, e.resource_id) for e in syncer_io.outbox_pending(s)]
    net = alice.network()
    sub = alice.subnet(net["id"], "10.0.0.0/24")
    port = alice.port(net["id"])
    alice.put(f"/v2.0/ports/{port['id']}", {"port": {"name": "x"}})
    alice.delete(f"/v2.0/ports/{port['id']}")
    # The port's first use of the project makes its default group, which the port then joins;
    # joining writes no group change (Port_Group members are written from the port's side).
    group = port["security_groups"][0]
    assert pending() == [("network", net["id"]), ("subnet", sub["id"]), ("network", net["id"]),
                         ("security_group", group),
                         ("port", port["id"]), ("port", port["id"]), ("port", port["id"])]
    port = alice.port(net["id"])
    with store.session() as s:
        assert syncer_io.set_port_status(s, port["id"], "ACTIVE") is True
        assert syncer_io.set_port_status(s, "gone", "ACTIVE") is False
    shown = alice.get(f"/v2.0/ports/{port['id']}").json()["port"]
    assert shown["status"] == "ACTIVE" and shown["revision_number"] == 1


@pytest.mark.dialect
def test_an_administratively_down_port_is_down_whatever_ovn_says(store, alice):
    net = alice.network()
    up, down = alice.port(net["id"], name="up"), alice.port(net["id"], name="down")
    with store.session() as s:  # OVN has both ports up (the syncer's write)
        assert syncer_io.set_port_status(s, up["id"], "ACTIVE") and syncer_io.set_port_status(s, down["id"], "ACTIVE")
    changed = alice.put(f"/v2.0/ports/{down['id']}", {"port": {"admin_state_up": False}})
    assert changed.status_code == 200 and changed.json()["port"]["status"] == "DOWN"
    assert alice.get(f"/v2.0/ports/{down['id']}").json()["port"]["status"] == "DOWN"

    def names(query: str) -> list[str]:
        return [p["name"] for p in alice.get(f"/v2.0/ports?{query}").json()["ports"]]
    # Filters, sorting and pages go by the status shown, not by OVN's word under it.
    assert names("status=DOWN") == ["down"] and names("status=ACTIVE") == ["up"]
    assert names("sort_key=status&sort_dir=asc") == ["up", "down"]
    assert names("sort_key=status&sort_dir=desc") == ["down", "up"]
    assert names(f"sort_key=status&sort_dir=asc&limit=1&marker={up['id']}") == ["down"]
    with store.session(readonly=True) as s:
        assert [p["status"] for p in syncer_io.snapshot(s, ("port",), ids=[down["id"]])["ports"]] == ["DOWN"]
        assert stats.ports_by_status(s) == {"ACTIVE": 1, "DOWN": 1}
    # Enabled again, it shows what OVN says at once: OVN's up did not change, so no event would come.
    changed = alice.put(f"/v2.0/ports/{down['id']}", {"port": {"admin_state_up": True}})
    assert changed.json()["port"]["status"] == "ACTIVE" and names("status=DOWN") == []


@pytest.mark.dialect
def test_snapshot_is_what_show_returns(store, admin, alice, bob):
    for caller in (alice, bob):
        net = caller.network()
        caller.subnet(net["id"], "10.0.0.0/24")
        caller.port(net["id"])
    with store.session(readonly=True) as s:
        snap = syncer_io.snapshot(s, ("network", "subnet", "port"))
    assert {k: len(v) for k, v in snap.items()} == {"networks": 2, "subnets": 2, "ports": 2}
    for plural, items in snap.items():
        for item in items:
            assert admin.get(f"/v2.0/{plural}/{item['id']}").json()[plural[:-1]] == item
    with store.session() as s:
        entries = syncer_io.outbox_pending(s)
        syncer_io.outbox_done(s, [e.id for e in entries[:3]])
    with store.session(readonly=True) as s:
        assert [e.id for e in syncer_io.outbox_pending(s)] == [e.id for e in entries[3:]]


def test_discovery_documents(client, alice):
    versions = client.get("/").json()["versions"]
    assert versions[0]["id"] == "v2.0" and versions[0]["status"] == "CURRENT"
    aliases = {e["alias"] for e in client.get("/v2.0/extensions").json()["extensions"]}
    assert {"binding", "allowed-address-pairs", "port-security", "standard-attr-tag", "net-mtu"} <= aliases
    assert {"router", "external-net", "provider", "ext-gw-mode", "extraroute", "extraroute-atomic"} <= aliases
    assert {"security-group", "stateful-security-group"} <= aliases and "l3-ha" not in aliases
    assert client.get("/v2.0/extensions/binding").json()["extension"]["alias"] == "binding"
    neutron_error(client.get("/v2.0/extensions/l3-ha"), 404, "HTTPNotFound")
    assert client.get("/healthz").json() == {"status": "ok"}
    assert "/v2.0/ports" in client.get("/openapi.json").json()["paths"]


def test_healthz_says_degraded_while_nb_is_not_connected(store):
    from ovnet.api.app import create_app
    from tests.unit.api.conftest import TestClient

    connected = [False]
    with TestClient(create_app(store, nb_connected=lambda: connected[0])) as c:
        answer = c.get("/healthz")
        assert answer.status_code == 200  # the process serves: a liveness probe must not restart it
        assert answer.json() == {"status": "degraded", "reason": "the syncer is not connected to OVN NB"}
        connected[0] = True
        assert c.get("/healthz").json() == {"status": "ok"}


def test_on_commit_hook_runs_after_writes_only(store):
    from ovnet.api.app import create_app
    from ovnet.model.tenancy import get_or_create_project, issue_token
    from tests.unit.api.conftest import TestClient

    calls = []
    token = store.run(lambda s: issue_token(s, get_or_create_project(s, "admin").id, "admin"))
    with TestClient(create_app(store, on_commit=lambda t: calls.append(t) or False)) as c:
        h = {"X-Auth-Token": token}
        r = c.post("/v2.0/networks", json={"network": {}}, headers=h)
        assert r.status_code == 201 and r.headers["X-Ovnet-Sync"] == "pending"
        c.get("/v2.0/networks", headers=h)
        c.post("/v2.0/networks", json={"network": {"bad": 1}}, headers=h)
    assert len(calls) == 1 and calls[0] > 0


def test_a_nowait_create_or_delete_only_wakes_the_syncer(store):
    from ovnet.api.app import create_app
    from ovnet.model.tenancy import get_or_create_project, issue_token
    from tests.unit.api.conftest import TestClient

    calls = []
    token = store.run(lambda s: issue_token(s, get_or_create_project(s, "admin").id, "admin"))
    with TestClient(create_app(store, on_commit=lambda t: calls.append(t) or t > 0)) as c:
        h, nowait = {"X-Auth-Token": token}, {"X-Auth-Token": token, "X-Ovnet-Sync": "nowait"}
        made = c.post("/v2.0/networks", json={"network": {}}, headers=nowait)
        assert made.status_code == 201 and made.headers["X-Ovnet-Sync"] == "pending"
        assert c.post("/v2.0/networks", json={"network": {}}, headers=h).headers["X-Ovnet-Sync"] == "confirmed"
        gone = c.delete(f"/v2.0/networks/{made.json()['network']['id']}", headers=nowait)
        assert gone.status_code == 204 and gone.headers["X-Ovnet-Sync"] == "pending"
    assert calls[0] == 0.0 and calls[1] > 0 and calls[2] == 0.0


def test_settings_give_the_network_mtu_and_the_mac_prefix(store, tmp_path):
    from ovnet.api.app import create_app
    from ovnet.config import load_settings
    from ovnet.model.tenancy import get_or_create_project, issue_token
    from tests.unit.api.conftest import TestClient

    settings = load_settings(tmp_path, underlay_mtu=9000, mac_prefix="02:aa:bb:cc")
    token = store.run(lambda s: issue_token(s, get_or_create_project(s, "admin").id, "admin"))
    with TestClient(create_app(store, settings)) as c:
        h = {"X-Auth-Token": token}
        net = c.post("/v2.0/networks", json={"network": {}}, headers=h).json()["network"]
        assert net["mtu"] == 9000 - 58
        port = c.post("/v2.0/ports", json={"port": {"network_id": net["id"]}}, headers=h).json()["port"]
        assert re.match(r"^02:aa:bb:cc:[0-9a-f]{2}:[0-9a-f]{2}$", port["mac_address"])


@pytest.mark.dialect
def test_update_with_subnet_only_entries_keeps_the_addresses_held_there(alice):
    net = alice.network()
    sub = alice.subnet(net["id"], "10.0.0.0/24")
    port = alice.port(net["id"])
    held = port["fixed_ips"][0]["ip_address"]
    same = alice.put(f"/v2.0/ports/{port['id']}", {"port": {"fixed_ips": [{"subnet_id": sub["id"]}]}}).json()["port"]
    assert same["fixed_ips"] == port["fixed_ips"] and same["revision_number"] == 1
    two = alice.put(f"/v2.0/ports/{port['id']}",
                    {"port": {"fixed_ips": [{"subnet_id": sub["id"]}, {"subnet_id": sub["id"]}]}}).json()["port"]
    assert len(two["fixed_ips"]) == 2 and held in [ip["ip_address"] for ip in two["fixed_ips"]]


def test_network_mtu_above_the_overlay_maximum_is_refused(alice):
    error = neutron_error(alice.post("/v2.0/networks", {"network": {"mtu": 9000}}), 400, "InvalidInput")
    assert error["detail"] == "mtu" and "1442" in error["message"]
    assert alice.get("/v2.0/networks").json()["networks"] == []
    net = alice.network(mtu=1442)
    assert net["mtu"] == 1442
    error = neutron_error(alice.put(f"/v2.0/networks/{net['id']}", {"network": {"mtu": 1443}}), 400, "InvalidInput")
    assert error["detail"] == "mtu"
    assert alice.get(f"/v2.0/networks/{net['id']}").json()["network"]["mtu"] == 1442
    assert alice.put(f"/v2.0/networks/{net['id']}", {"network": {"mtu": 1400}}).json()["network"]["mtu"] == 1400


def test_network_mtu_below_the_ipv4_minimum_is_refused(alice):
    neutron_error(alice.post("/v2.0/networks", {"network": {"mtu": 67}}), 400, "HTTPBadRequest")
    assert alice.network(mtu=68)["mtu"] == 68


def test_ipv6_needs_an_mtu_of_1280(alice):
    small = alice.network(mtu=1279)
    body = {"subnet": {"network_id": small["id"], "cidr": "fd00::/64", "ip_version": 6}}
    neutron_error(alice.post("/v2.0/subnets", body), 400, "InvalidInput")
    assert alice.get("/v2.0/subnets").json()["subnets"] == []
    alice.subnet(small["id"], "10.0.0.0/24")  # IPv4 is fine at 1279
    net = alice.network(mtu=1280)
    alice.subnet(net["id"], "fd00::/64")
    neutron_error(alice.put(f"/v2.0/networks/{net['id']}", {"network": {"mtu": 1279}}), 400, "InvalidInput")
    assert alice.get(f"/v2.0/networks/{net['id']}").json()["network"]["mtu"] == 1280


@pytest.mark.parametrize("attrs", [{"binding:host_id": "evil-host"}, {"binding:profile": {"k": "v"}}])
def test_member_may_not_set_the_binding(alice, admin, attrs):
    net = alice.network()
    alice.subnet(net["id"], "10.0.0.0/24")
    r = alice.post("/v2.0/ports", {"port": {"network_id": net["id"], **attrs}})
    neutron_error(r, 403, "PolicyNotAuthorized")
    assert alice.get("/v2.0/ports").json()["ports"] == []
    port = alice.port(net["id"], **{"binding:host_id": "", "binding:profile": {}})  # the empty values are fine
    neutron_error(alice.put(f"/v2.0/ports/{port['id']}", {"port": attrs}), 403, "PolicyNotAuthorized")
    after = admin.get(f"/v2.0/ports/{port['id']}").json()["port"]
    assert after["binding:host_id"] == "" and after["binding:profile"] == {} and after["revision_number"] == 1


def test_admin_binds_and_null_unbinds(alice, admin):
    net = alice.network()
    port = admin.port(net["id"], **{"binding:host_id": "host-1", "binding:profile": {"k": "v"}})
    assert port["binding:host_id"] == "host-1" and port["binding:profile"] == {"k": "v"}
    # openstack port unset --host sends {"binding:host_id": null}
    unbound = admin.put(f"/v2.0/ports/{port['id']}", {"port": {"binding:host_id": None}}).json()["port"]
    assert unbound["binding:host_id"] == "" and unbound["binding:vif_type"] == "unbound"
    admin.put(f"/v2.0/ports/{port['id']}", {"port": {"binding:host_id": "host-2"}})
    again = admin.put(f"/v2.0/ports/{port['id']}", {"port": {"binding:host_id": ""}}).json()["port"]
    assert again["binding:host_id"] == ""


@pytest.mark.dialect
@pytest.mark.parametrize("query", ["binding:host_id=host-1", "binding:host_id=", "binding:host_id=host-1&name=p",
                                   "sort_key=binding:host_id", "binding:vif_type=ovs", "binding:profile=x"])
def test_member_may_not_filter_or_sort_on_what_it_cannot_see(alice, admin, query):
    """A member's filter on binding:host_id would tell where ports run, which Neutron shows to
    admins only: it is an unknown attribute to the member; the admin's filter works."""
    net = alice.network()
    admin.port(net["id"], name="p", **{"binding:host_id": "host-1"})
    neutron_error(alice.get(f"/v2.0/ports?{query}"), 400, "HTTPBadRequest")
    assert admin.get(f"/v2.0/ports?{query}").status_code in (200, 400)
    assert [p["name"] for p in admin.get("/v2.0/ports?binding:host_id=host-1").json()["ports"]] == ["p"]
