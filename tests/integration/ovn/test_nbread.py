"""ovnet.ovn.nbread against a real NB ovsdb-server: the one-transaction read sees exactly what the
syncer's IDL replica sees (owned rows, references, memberships, names, port up), so a drift check
may use either."""

from __future__ import annotations

import time

import pytest

from ovnet.ovn.diff import plan
from ovnet.ovn.nb import NB_SCHEMA, NbUnavailable
from ovnet.ovn.nbread import read_nb
from ovnet.ovn.registry import desired_rows
from ovnet.ovn.translate import LSP

from tests.helpers.samples import NET, PORT, snapshot
from tests.helpers.wait import wait_for

pytestmark = pytest.mark.ovn

SECOND = "5b6f7e1c-0000-4000-8000-0000000000f2"


def _two_ports() -> dict:
    snap = snapshot()
    snap["ports"].append({**snap["ports"][0], "id": SECOND, "name": "vm2", "mac_address": "fa:16:3e:00:00:02",
                          "fixed_ips": [{"subnet_id": snap["subnets"][0]["id"], "ip_address": "10.0.0.6"}]})
    return snap


def _sorted(owned: dict) -> dict:
    return {table: sorted(rows, key=lambda r: r["_uuid"]) for table, rows in owned.items()}


def _one_drift(changes) -> bool:
    return len(changes) == 1 and "addresses is" in str(changes[0]) and "'ovnet:port_groups': ''" in str(changes[0])


def test_read_nb_equals_the_replica_with_drift_rows_not_owned_and_memberships(nb_server, client):
    want = desired_rows(_two_ports())
    client.converge(want)
    nb_server.nbctl("ls-add", "by-hand")
    nb_server.nbctl("lsp-add", "by-hand", "hand-port")
    nb_server.nbctl("lsp-set-addresses", PORT, "00:00:00:00:00:01")
    nb_server.nbctl("set", "Logical_Switch_Port", SECOND, "up=true")
    group = nb_server.nbctl("--bare", "--columns=_uuid", "find", "Port_Group", f"external_ids:ovnet\\:id={NET}/drop")
    nb_server.nbctl("remove", "Port_Group", group, "ports", nb_server.nbctl("get", "Logical_Switch_Port", PORT, "_uuid"))
    # The replica follows NB asynchronously: wait until it has every change above.
    assert wait_for(lambda: client.port_up().get(SECOND) is True and _one_drift(client.converge(want, dry_run=True)))

    view = read_nb(nb_server.url, NB_SCHEMA, 10)
    assert _sorted(view.owned) == _sorted(client.read_owned(memberships=True))
    assert view.up == client.port_up() == {PORT: False, SECOND: True}
    assert view.taken(LSP, "hand-port") is not None and view.taken(LSP, "nothing") is None
    # The same plan from either: PORT's addresses and its drop group membership.
    assert [str(c) for c in plan(want, view.owned, None, view.taken)] == [str(c) for c in client.converge(want, dry_run=True)]


def test_a_create_whose_name_a_foreign_row_holds_is_a_conflict(nb_server):
    nb_server.nbctl("ls-add", "by-hand")
    nb_server.nbctl("lsp-add", "by-hand", PORT)
    view = read_nb(nb_server.url, NB_SCHEMA, 10)
    conflicts = [c for c in plan(desired_rows(snapshot()), view.owned, None, view.taken) if c.op == "conflict"]
    assert [(c.table, c.key) for c in conflicts] == [(LSP, PORT)]


def test_unreachable_remotes_are_skipped_and_none_reachable_raises_in_time(nb_server):
    dead = "tcp:127.0.0.1:1"
    assert read_nb(f"{dead},{nb_server.url}", NB_SCHEMA, 10).owned[LSP] == []
    started = time.monotonic()
    with pytest.raises(NbUnavailable, match="127.0.0.1:1"):
        read_nb(dead, NB_SCHEMA, 2)
    assert time.monotonic() - started < 5
