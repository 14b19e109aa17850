"""The model -> NB translation and the diff, with plain data only (no daemon)."""

from __future__ import annotations

import copy

import pytest

from ovnet.ovn.diff import diff
from ovnet.model.registry import related_ids
from ovnet.ovn.registry import KINDS, TABLE, desired_rows, names_of, object_id
from ovnet.ovn.translate import DHCP, LS, LSP, server_mac, switch_name
from tests.helpers.samples import NET, PORT, SUB4, SUB6, snapshot


def test_network_becomes_logical_switch_with_mtu_and_owner_ids():
    ls = desired_rows(snapshot())[LS][NET]
    assert ls["name"] == switch_name(NET) == f"ovnet-{NET}"
    assert ls["other_config"] == {"mtu": "1442"}
    assert ls["external_ids"] == {"ovnet:id": NET, "ovnet:type": "network", "ovnet:project": "p1",
                                  "ovnet:name": "blue", "ovnet:revision": "3"}


def test_v4_subnet_dhcp_options():
    row = desired_rows(snapshot())[DHCP][SUB4]
    assert row["cidr"] == "10.0.0.0/24"
    assert row["options"] == {
        "server_id": "10.0.0.1", "server_mac": server_mac(SUB4), "router": "10.0.0.1",
        "lease_time": "86400", "mtu": "1442", "dns_server": "{10.0.0.53}",
        "classless_static_route": "{192.168.0.0/16,10.0.0.254, 0.0.0.0/0,10.0.0.1}",
    }
    assert row["external_ids"]["ovnet:network"] == NET
    assert row["external_ids"]["ovnet:type"] == "subnet"


def test_server_mac_is_stable_local_unicast_and_per_subnet():
    mac = server_mac(SUB4)
    assert mac == server_mac(SUB4) != server_mac(SUB6)
    first = int(mac.split(":")[0], 16)
    assert first & 0x02 and not first & 0x01
    assert len(mac.split(":")) == 6


def test_v6_subnet_dhcp_options_and_modes():
    snap = snapshot()
    row = desired_rows(snap)[DHCP][SUB6]
    assert row["options"] == {"server_id": server_mac(SUB6), "dns_server": "{2001:db8::53}"}
    snap["subnets"][1]["ipv6_address_mode"] = "dhcpv6-stateless"
    assert desired_rows(snap)[DHCP][SUB6]["options"]["dhcpv6_stateless"] == "true"
    snap["subnets"][1]["ipv6_address_mode"] = "slaac"
    assert SUB6 not in desired_rows(snap)[DHCP]


def test_no_dhcp_row_when_disabled_or_v4_without_gateway():
    snap = snapshot()
    snap["subnets"][0]["enable_dhcp"] = False
    assert SUB4 not in desired_rows(snap)[DHCP]
    snap["subnets"][0].update(enable_dhcp=True, gateway_ip=None)
    assert SUB4 not in desired_rows(snap)[DHCP]
    assert desired_rows(snap)[LSP][PORT]["dhcpv4_options"] == []


def test_port_becomes_logical_switch_port():
    lsp = desired_rows(snapshot())[LSP][PORT]
    assert lsp["name"] == PORT
    assert lsp["addresses"] == ["fa:16:3e:00:00:01 10.0.0.5 2001:db8::5"]
    assert lsp["port_security"] == ["fa:16:3e:00:00:01 10.0.0.5 2001:db8::5"]
    assert lsp["dhcpv4_options"] == [SUB4] and lsp["dhcpv6_options"] == [SUB6]
    assert lsp["options"] == {"requested-chassis": "hv1"}
    assert lsp["enabled"] == [True]
    assert lsp["external_ids"]["ovnet:network"] == NET and lsp["external_ids"]["ovnet:revision"] == "7"


def test_port_security_off_allowed_pairs_admin_down_unbound():
    snap = snapshot()
    port = snap["ports"][0]
    port["allowed_address_pairs"] = [{"ip_address": "10.0.0.100", "mac_address": "fa:16:3e:00:00:01"},
                                     {"ip_address": "10.0.0.0/28", "mac_address": "02:00:00:00:00:09"},
                                     {"ip_address": "10.0.0.200"}]
    port.update(admin_state_up=False)
    port["binding:host_id"] = ""
    lsp = desired_rows(snap)[LSP][PORT]
    assert lsp["port_security"] == ["02:00:00:00:00:09 10.0.0.0/28",
                                    "fa:16:3e:00:00:01 10.0.0.5 2001:db8::5 10.0.0.100 10.0.0.200"]
    assert lsp["enabled"] == [False] and lsp["options"] == {}
    port["port_security_enabled"] = False
    lsp = desired_rows(snap)[LSP][PORT]
    assert lsp["port_security"] == []
    assert lsp["addresses"] == ["fa:16:3e:00:00:01 10.0.0.5 2001:db8::5", "unknown"]


def test_router_ports_become_router_switch_ports_floating_ip_ports_and_orphans_are_left_out():
    snap = snapshot()
    port = snap["ports"][0]
    port.update(device_owner="network:router_interface", device_id="r1")
    row = desired_rows(snap)[LSP][port["id"]]
    assert (row["type"], row["addresses"], row["options"]) == ("router", ["router"], {"router-port": f"lrp-{port['id']}"})
    port["device_owner"] = "network:floatingip"
    assert desired_rows(snap)[LSP] == {}
    snap = snapshot()
    snap["networks"] = []
    assert all(rows == {} for rows in desired_rows(snap).values())


def test_rows_carry_exactly_the_declared_columns():
    rows = desired_rows(snapshot())
    for table, by_id in rows.items():
        for row in by_id.values():
            assert tuple(sorted(row)) == tuple(sorted(TABLE[table].columns))


def test_translation_is_pure():
    snap = snapshot()
    before = copy.deepcopy(snap)
    assert desired_rows(snap) == desired_rows(snap)
    assert snap == before


def test_related_ids():
    snap = snapshot()
    assert related_ids(snap, {PORT}) == {PORT, NET, SUB4, SUB6}
    assert related_ids(snap, {SUB4}) == {SUB4, NET, PORT}
    assert related_ids(snap, {NET}) == {NET, SUB4, SUB6}
    assert related_ids(snap, {"gone"}) == {"gone"}


def _actual(desired: dict) -> dict:
    out = {}
    for table, rows in desired.items():
        out[table] = [dict(copy.deepcopy(row), _uuid=f"u-{key}") for key, row in rows.items()]
    return out


def test_diff_converged_is_empty_and_detects_each_kind_of_drift():
    want = desired_rows(snapshot())
    have = _actual(want)
    assert diff(want, have) == []
    have[LSP][0]["addresses"] = ["fa:16:3e:00:00:99"]
    del have[DHCP][0]
    stray = dict(copy.deepcopy(have[LS][0]), _uuid="u-stray", name="ovnet-stray")
    stray["external_ids"]["ovnet:id"] = "stray"
    have[LS].append(stray)
    changes = diff(want, have)
    assert [(c.op, c.table, c.key) for c in changes] == [
        ("create", DHCP, SUB4), ("update", LSP, PORT), ("delete", LS, "stray")]
    assert changes[1].new == {"addresses": want[LSP][PORT]["addresses"]}
    assert "missing in NB" in str(changes[0]) and "not in the model" in str(changes[2])


def test_diff_scope_and_duplicates():
    want = desired_rows(snapshot())
    have = _actual(want)
    dup = dict(copy.deepcopy(have[LSP][0]), _uuid="u-dup", name="renamed")
    have[LSP].append(dup)
    assert [(c.op, c.uuid) for c in diff(want, have)] == [("delete", "u-dup")]
    assert diff(want, have, scope={NET}) == []
    del have[LS][0]
    assert [(c.op, c.key) for c in diff(want, have, scope={NET})] == [("create", NET)]


def test_scoped_translation_is_a_slice_of_the_full_one():
    snap = snapshot()
    full = desired_rows(snap)
    for scope in ({PORT}, {SUB6}, {NET, PORT}, set()):
        part = desired_rows(snap, scope)
        assert part == {t: {k: r for k, r in rows.items() if object_id(k) in scope} for t, rows in full.items()}


def test_a_named_tables_part_key_must_be_declared(monkeypatch):
    # A scoped read finds a deleted object's "<id>/<part>" rows only by the parts its Table
    # declares (a deleted network's drop Port_Group once stayed until the full reconcile).
    def stray(network, view):
        yield LS, f"{network['id']}/extra", {"name": switch_name(network["id"])}
    monkeypatch.setitem(KINDS, "network", (*KINDS["network"], stray))
    with pytest.raises(ValueError, match="part not in its Table.parts"):
        desired_rows(snapshot())
    assert names_of(LSP, [NET]) == {NET, f"{NET}/provnet"}
