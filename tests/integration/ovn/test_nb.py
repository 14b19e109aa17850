"""ovnet.ovn.nb against a real OVN NB ovsdb-server: converge, ownership, idempotence, reconnect."""

from __future__ import annotations

import copy
import time

import pytest

from ovnet.ovn.nb import NbClient, NbUnavailable
from ovnet.ovn.registry import desired_rows
from ovnet.ovn.translate import DHCP, LS, LSP

from tests.helpers.wait import wait_for
from tests.helpers.samples import NET, PORT, SUB4, SUB6, snapshot

pytestmark = pytest.mark.ovn


def test_converge_creates_rows_that_ovn_nbctl_sees_and_is_idempotent(nb_server, client):
    want = desired_rows(snapshot())
    changes = client.converge(want)
    # The network's drop Port_Group with its two ACLs comes along (port security, ovn/acls.py).
    assert sorted((c.op, c.table) for c in changes) == sorted(
        [("create", LS), ("create", DHCP), ("create", DHCP), ("create", LSP), ("create", "Port_Group"),
         ("create", "ACL"), ("create", "ACL")])
    assert client.converge(want) == []
    assert nb_server.nbctl("lsp-get-addresses", PORT) == "fa:16:3e:00:00:01 10.0.0.5 2001:db8::5"
    assert nb_server.nbctl("lsp-list", f"ovnet-{NET}").split()[1] == f"({PORT})"
    dhcp_uuid = nb_server.nbctl("get", "Logical_Switch_Port", PORT, "dhcpv4_options")
    assert nb_server.nbctl("get", "DHCP_Options", dhcp_uuid, "cidr") == '"10.0.0.0/24"'
    assert nb_server.nbctl("get", "Logical_Switch_Port", PORT, "options:requested-chassis") == "hv1"


def test_converge_repairs_drift_and_leaves_unowned_rows_alone(nb_server, client):
    want = desired_rows(snapshot())
    client.converge(want)
    nb_server.nbctl("ls-add", "by-hand")
    nb_server.nbctl("lsp-add", f"ovnet-{NET}", "hand-port")
    nb_server.nbctl("lsp-set-addresses", PORT, "00:00:00:00:00:01")
    nb_server.nbctl("ls-add", "stray", "--", "set", "Logical_Switch", "stray", "external_ids:ovnet\\:id=stray")
    dhcp = nb_server.nbctl("--bare", "--columns=_uuid", "find", "DHCP_Options", f"external_ids:ovnet\\:id={SUB6}")
    nb_server.nbctl("destroy", "DHCP_Options", dhcp)
    assert wait_for(lambda: len(client.converge(want, dry_run=True)) == 3)
    ops = sorted((c.op, c.table, c.key) for c in client.converge(want))
    assert ops == [("create", DHCP, SUB6), ("delete", LS, "stray"), ("update", LSP, PORT)]
    assert client.converge(want) == []
    assert nb_server.nbctl("lsp-get-addresses", PORT) == "fa:16:3e:00:00:01 10.0.0.5 2001:db8::5"
    assert "by-hand" in nb_server.nbctl("ls-list")
    assert "stray" not in nb_server.nbctl("ls-list")
    assert "hand-port" in nb_server.nbctl("lsp-list", f"ovnet-{NET}")
    new6 = nb_server.nbctl("get", "Logical_Switch_Port", PORT, "dhcpv6_options")
    assert nb_server.nbctl("get", "DHCP_Options", new6, "external_ids:ovnet\\:id") == f'"{SUB6}"'


def test_scoped_converge_touches_only_its_ids_and_deletes_gone_ones(nb_server, client):
    snap = snapshot()
    client.converge(desired_rows(snap))
    gone = copy.deepcopy(snap)
    gone["ports"] = []
    nb_server.nbctl("lsp-set-addresses", PORT, "00:00:00:00:00:01")
    assert wait_for(lambda: len(client.converge(desired_rows(gone), dry_run=True)) == 1)
    # Another id's scope: the hand edit of PORT is not in it.
    assert client.converge(desired_rows(gone), scope={SUB4}) == []
    changes = client.converge(desired_rows(gone), scope={PORT})
    assert [(c.op, c.key) for c in changes] == [("delete", PORT)]
    assert nb_server.nbctl("lsp-list", f"ovnet-{NET}") == ""


def test_a_scoped_converge_of_a_network_updates_its_drop_port_group(nb_server, client):
    # The drop Port_Group is keyed "<network id>/drop" and named after that key: a scoped read by
    # the network id alone missed it, so a network change left its revision stale until the next
    # full reconcile (found by `ovnet check` on a clean all-in-one).
    snap = snapshot()
    client.converge(desired_rows(snap))
    renamed = copy.deepcopy(snap)
    renamed["networks"][0].update(name="renamed", revision_number=7)
    changes = client.converge(desired_rows(renamed, {NET}), scope={NET})
    assert ("update", "Port_Group", f"{NET}/drop") in [(c.op, c.table, c.key) for c in changes]
    assert client.converge(desired_rows(renamed), dry_run=True) == []


def test_unavailable_nb_raises_and_reconnect_is_fast(nb_server, client):
    want = desired_rows(snapshot())
    nb_server.stop()
    assert wait_for(lambda: not client.connected())
    with pytest.raises(NbUnavailable):
        client.converge(want)
    nb_server.start()
    started = time.monotonic()
    assert client.wait_connected(10)
    reconnect_s = time.monotonic() - started
    print(f"reconnected {reconnect_s:.2f} s after NB came back")
    assert client.converge(want)


def test_start_returns_while_nb_is_down_connects_when_it_comes_and_stop_is_prompt(nb_server):
    nb_server.stop()
    nb = NbClient(nb_server.url)
    try:
        nb.start()  # returns at once: ovsdbapp's own start() would wait for NB and raise
        with pytest.raises(NbUnavailable):
            nb.converge(desired_rows(snapshot()))
        nb_server.start()
        assert nb.wait_connected(10)
        assert nb.converge(desired_rows(snapshot()))
    finally:
        nb.stop()
    down = NbClient(nb_server.url)
    nb_server.stop()
    down.start()
    started = time.monotonic()
    down.stop()
    assert time.monotonic() - started < 2  # the first-connect loop notices stop() within its poll


def test_port_up_events(nb_server):
    seen = []
    nb = NbClient(nb_server.url, on_port_up=lambda pid, up: seen.append((pid, up)))
    nb.start()
    try:
        assert nb.wait_connected(10)
        nb.converge(desired_rows(snapshot()))
        nb_server.nbctl("set", "Logical_Switch_Port", PORT, "up=true")
        nb_server.nbctl("set", "Logical_Switch_Port", PORT, "up=false")
        assert wait_for(lambda: len(seen) >= 2)
        assert seen == [(PORT, True), (PORT, False)]
        assert nb.port_up() == {PORT: False}
    finally:
        nb.stop()


def test_big_changes_are_split_into_several_transactions(nb_server, client, monkeypatch):
    import ovnet.ovn.nb as nb_module

    snap = snapshot()
    template = snap["ports"][0]
    # Ids unique across kinds, as UUIDs are: a chunk holds whole objects, named by id.
    snap["ports"] = [dict(template, id=f"{PORT[:-3]}1{i:02d}", mac_address=f"fa:16:3e:00:01:{i:02x}",
                          fixed_ips=[{"subnet_id": SUB4, "ip_address": f"10.0.0.{10 + i}"}]) for i in range(7)]
    monkeypatch.setattr(nb_module, "MAX_TXN_ROWS", 3)
    commits = []
    real_commit = NbClient._commit
    monkeypatch.setattr(NbClient, "_commit", lambda self, cmd, timeout: commits.append(cmd.scope) or
                        real_commit(self, cmd, timeout))
    want = desired_rows(snap)
    # An owned row under a name ovnet would not give it is found by the full scan of the plan,
    # and its chunk must still find it to delete it.
    nb_server.nbctl("ls-add", "odd-name", "--", "set", "Logical_Switch", "odd-name", "external_ids:ovnet\\:id=odd")
    # 7 ports, 2 DHCP rows, the switch with its drop Port_Group and 2 ACLs, and the odd one.
    assert wait_for(lambda: len(client.converge(want, dry_run=True)) == 14)
    assert len(client.converge(want)) == 14
    assert len(commits) == 4
    assert commits[0] >= {NET, SUB4}  # switch and DHCP rows go first: ports refer to them
    assert client.converge(want, dry_run=True) == []
    assert len(nb_server.nbctl("lsp-list", f"ovnet-{NET}").splitlines()) == 7
    assert "odd-name" not in nb_server.nbctl("ls-list")


def test_port_name_taken_by_an_unowned_row_is_reported_and_blocks_nothing_else(nb_server, client):
    snap = snapshot()
    nb_server.nbctl("ls-add", "someone-elses")
    nb_server.nbctl("lsp-add", "someone-elses", PORT)
    assert wait_for(lambda: any(c.op == "conflict" for c in client.converge(desired_rows(snap), dry_run=True)))
    changes = client.converge(desired_rows(snap))
    assert sorted(c.op for c in changes) == ["conflict"] + ["create"] * 6  # 3 of them port security's
    assert "a row ovnet does not own" in str(next(c for c in changes if c.op == "conflict"))
    assert nb_server.nbctl("lsp-list", "someone-elses").split()[1] == f"({PORT})"
    assert nb_server.nbctl("get", "Logical_Switch", f"ovnet-{NET}", "name") == f"ovnet-{NET}"
