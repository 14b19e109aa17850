"""The syncer against a real NB ovsdb-server and a real model store (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest

from ovnet.config import Settings
from ovnet.model import syncer_io
from ovnet.model.common import record_change
from ovnet.model.schema import IPAllocation, Network, Port, Subnet, SubnetPool
from ovnet.ovn.syncer import Syncer
from ovnet.runtime.process import free_port, run
from tests.helpers.outbox import change, network_with_port
from tests.helpers.wait import wait_for

pytestmark = [pytest.mark.ovn, pytest.mark.dialect]  # the outbox is read and locked in SQL


def make_syncer(store, nb_server, tmp_path, **overrides):
    # SB on a port nothing serves: the default 6642 may be a real installation's SB on this machine,
    # and each change of its chassis (or its first sync, from none to some) starts a reconcile here.
    settings = Settings(state_dir=tmp_path / "state", nb_port=nb_server.port, sb_port=free_port(), **overrides)
    return Syncer(store, settings)


@pytest.fixture
def syncer(store, nb_server, tmp_path):
    s = make_syncer(store, nb_server, tmp_path)
    s.start()
    yield s
    s.stop()


def pending(store):
    with store.session(readonly=True) as session:
        return syncer_io.outbox_pending(session)


def test_flush_confirms_changes_in_nb_and_empties_the_outbox(store, nb_server, syncer):
    net, sub, port = network_with_port(store)
    assert syncer.flush(10)
    assert nb_server.nbctl("lsp-get-addresses", port.id) == "fa:16:3e:00:00:05 10.0.0.5"
    assert nb_server.nbctl("get", "Logical_Switch", f"ovnet-{net.id}", "other_config:mtu") == '"1442"'
    dhcp = nb_server.nbctl("get", "Logical_Switch_Port", port.id, "dhcpv4_options")
    assert nb_server.nbctl("get", "DHCP_Options", dhcp, "options:router") == '"10.0.0.1"'
    assert pending(store) == []
    assert syncer.drift() == []
    with store.session() as session:
        row = session.get(Port, port.id)
        session.delete(row)
        record_change(session, row)
    assert syncer.flush(10)
    assert nb_server.nbctl("lsp-list", f"ovnet-{net.id}") == ""


def test_a_kind_without_nb_rows_passes_through_the_syncer(store, nb_server, syncer):
    # A subnet pool has no NB rows: its outbox entries are consumed and write nothing; a subnet
    # allocated from it is translated as any subnet.
    pool = SubnetPool(project_id="p1", ip_version=4, prefixes=["10.8.0.0/16"], default_prefixlen=24,
                      min_prefixlen=8, max_prefixlen=32)
    change(store, pool)
    assert syncer.flush(10)
    assert pending(store) == []
    assert nb_server.nbctl("--bare", "--columns=_uuid", "find", "DHCP_Options", "cidr=10.8.0.0/24") == ""
    net = Network(project_id="p1", name="pooled", mtu=1442)
    change(store, net)
    change(store, Subnet(project_id="p1", network_id=net.id, cidr="10.8.0.0/24", ip_version=4,
                         gateway_ip="10.8.0.1", subnetpool_id=pool.id))
    assert syncer.flush(10)
    assert nb_server.nbctl("--bare", "--columns=cidr", "find", "DHCP_Options", "cidr=10.8.0.0/24") == "10.8.0.0/24"
    assert pending(store) == [] and syncer.drift() == []


def test_drift_and_repair_after_hand_edits(store, nb_server, tmp_path):
    # On demand only, as `ovnet sync [--check]` runs it: no worker thread, so no reconcile (periodic,
    # after an NB reconnect or a chassis change) can repair the hand edits before drift() reads them.
    s = make_syncer(store, nb_server, tmp_path)
    try:
        net, sub, port = network_with_port(store)
        assert s.repair() and pending(store) == []
        assert s.drift() == []
        nb_server.nbctl("lsp-del", port.id)
        nb_server.nbctl("set", "Logical_Switch", f"ovnet-{net.id}", "other_config:mtu=9000")
        nb_server.nbctl("ls-add", "ovnet-bogus", "--", "set", "Logical_Switch", "ovnet-bogus",
                        "external_ids:ovnet\\:id=bogus")
        nb_server.nbctl("ls-add", "not-ours")
        drift = s.drift()
        assert len(drift) == 3, drift
        assert any(port.id in line and "missing" in line for line in drift)
        assert any("mtu" in line and "9000" in line for line in drift)
        assert any("bogus" in line and "not in the model" in line for line in drift)
        assert len(s.repair()) == 3
        assert s.drift() == []
        assert nb_server.nbctl("lsp-get-addresses", port.id) == "fa:16:3e:00:00:05 10.0.0.5"
        assert "not-ours" in nb_server.nbctl("ls-list") and "bogus" not in nb_server.nbctl("ls-list")
    finally:
        s.stop()


def test_periodic_reconcile_repairs_without_being_asked(store, nb_server, tmp_path):
    s = make_syncer(store, nb_server, tmp_path, sync_interval=0.5)
    s.start()
    try:
        net, sub, port = network_with_port(store)
        assert s.flush(10)
        nb_server.nbctl("lsp-del", port.id)
        assert wait_for(lambda: port.id in nb_server.nbctl("lsp-list", f"ovnet-{net.id}"))
    finally:
        s.stop()


def test_nb_down_leaves_changes_pending_and_they_land_when_it_returns(store, nb_server, syncer):
    net, sub, port = network_with_port(store)
    assert syncer.flush(10)
    nb_server.stop()
    assert wait_for(lambda: not syncer.nb.connected())
    port2 = Port(project_id="p1", network_id=net.id, mac_address="fa:16:3e:00:00:06",
                 fixed_ips=[IPAllocation(subnet_id=sub.id, ip_address="10.0.0.6")])
    change(store, port2)
    assert syncer.flush(1.0) is False
    assert [e.resource_id for e in pending(store)] == [port2.id]
    nb_server.start()
    assert syncer.flush(15)
    assert nb_server.nbctl("lsp-get-addresses", port2.id) == "fa:16:3e:00:00:06 10.0.0.6"
    assert pending(store) == []


def test_outbox_left_by_a_crash_is_applied_at_start(store, nb_server, tmp_path):
    net, sub, port = network_with_port(store)  # committed, never synced: as after a crash
    assert len(pending(store)) == 3
    s = make_syncer(store, nb_server, tmp_path)
    s.start()
    try:
        assert s.flush(10)
        assert nb_server.nbctl("lsp-get-addresses", port.id) == "fa:16:3e:00:00:05 10.0.0.5"
        assert pending(store) == []
    finally:
        s.stop()


def test_port_status_follows_lsp_up(store, nb_server, syncer):
    net, sub, port = network_with_port(store)
    assert syncer.flush(10)

    def status():
        with store.session(readonly=True) as session:
            return session.get(Port, port.id).status

    # ovn-northd writes `up`; here the test writes it directly (the chassis test binds for real).
    nb_server.nbctl("set", "Logical_Switch_Port", port.id, "up=true")
    assert wait_for(lambda: status() == "ACTIVE")
    nb_server.nbctl("set", "Logical_Switch_Port", port.id, "up=false")
    assert wait_for(lambda: status() == "DOWN")


def test_nb_replaced_by_an_empty_one_is_refilled_on_reconnect(store, nb_server, syncer):
    net, sub, port = network_with_port(store)
    assert syncer.flush(10)
    nb_server.stop()
    (nb_server.settings.db_dir / "ovnnb_db.db").unlink()  # a fresh NB, as after losing its disk
    nb_server.start()
    assert nb_server.nbctl("ls-list") == ""
    # sync_interval is 60 s here: only the reconcile that follows a reconnect can refill it this soon.
    assert wait_for(lambda: nb_server.nbctl("--bare", "--columns=name", "find", "Logical_Switch_Port",
                                            f"name={port.id}") == port.id, timeout=30)
    assert port.id in nb_server.nbctl("lsp-list", f"ovnet-{net.id}")
    assert syncer.drift() == []


def test_a_reconnect_too_quick_to_see_is_reconciled_too(store, nb_server, syncer):
    # ovsdb-server drops every client and python-ovs is back within milliseconds (its first try
    # has no back-off), well inside the worker's 1 s poll: the reconcile a reconnect owes must not
    # depend on the worker having seen NB down (a Raft failover or a restarted NB look the same).
    net, sub, port = network_with_port(store)
    assert syncer.flush(10)
    epoch = syncer.nb.epoch
    nb_server.nbctl("lsp-del", port.id)
    run(["ovs-appctl", "-t", str(nb_server.settings.ovn_rundir / "ovsdb-nb.ctl"), "ovsdb-server/reconnect"])
    assert wait_for(lambda: syncer.nb.epoch > epoch, 10, what="the syncer's NB replica reloaded")
    # sync_interval is 60 s and SB has no chassis: only the reconnect's reconcile brings it back.
    assert wait_for(lambda: port.id in nb_server.nbctl("lsp-list", f"ovnet-{net.id}"), 10)
    assert syncer.drift() == []
