"""``ovnet check`` on a real all-in-one: clean, it reports nothing and exits 0; with one
inconsistency of each kind planted behind the API's back (NB, SB, the host's OVS and devices, the
IPAM in SQL), it names each and exits 1."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import uuid

import pytest
from pyroute2 import IPRoute

from ovnet.apiclient import ApiClient, ApiError
from ovnet.cli import check
from ovnet.host.agentclient import AgentClient
from ovnet.host.ovs import LocalOvs
from ovnet.host.vif import veth_host_name
from tests.helpers.allinone import running_allinone
from tests.helpers.hostnet import ApiNetwork, wait_status

pytestmark = [pytest.mark.root, pytest.mark.ovn]


@pytest.fixture(scope="module")
def aio(tmp_path_factory):
    """One all-in-one for the module, with both reconciles an hour apart so that nothing repairs a
    planted inconsistency before ``ovnet check`` sees it."""
    with running_allinone(tmp_path_factory.mktemp("check"), agent_sync_interval=3600.0,
                          sync_interval=3600.0) as settings:
        yield settings


@pytest.fixture(scope="module")
def api(aio):
    with ApiClient.from_settings(aio) as client:
        yield client


@pytest.fixture(scope="module")
def agent(aio):
    with AgentClient(aio.agent_socket) as client:
        yield client


def ovnet_check(settings) -> tuple[int, list[dict], str]:
    env = dict(os.environ, OVNET_SQL_URL=settings.sql_url)
    # Nothing here is in flight: a short settle (the default waits one agent round, an hour here).
    done = subprocess.run([sys.executable, "-m", "ovnet.cli.main", "check", "--json", "--settle", "0.5",
                           "--state-dir", str(settings.state_dir)], capture_output=True, text=True, env=env,
                          timeout=120)
    return done.returncode, json.loads(done.stdout or "[]"), done.stderr


def problems(found: list[dict]) -> str:
    return "\n".join(f"{f['layer']}: {f['problem']}" for f in found)


def test_a_clean_allinone_has_no_findings(aio, api, agent, make_netns):
    net = ApiNetwork(api, "10.61.0")
    bound, spare = net.port(2), net.port(3)
    agent.bind(bound["id"], "veth", make_netns())
    assert wait_status(api, bound["id"], "ACTIVE") == "ACTIVE"
    assert spare["status"] == "DOWN"

    rc, found, err = ovnet_check(aio)

    assert (rc, found) == (0, []), problems(found) + err


def test_the_inventory_route_is_for_the_admin_only(aio, api):
    project = api.create_project(f"chk-{uuid.uuid4().hex[:6]}")
    with AgentClient(aio.agent_socket, token=api.issue_token(project["id"])) as member:
        with pytest.raises(ApiError) as refused:
            member.inventory()
    assert refused.value.status == 403
    with AgentClient(aio.agent_socket, token="not-a-token") as stranger:
        with pytest.raises(ApiError) as unknown:
            stranger.inventory()
    assert unknown.value.status == 401


def test_a_port_deleted_while_check_reads_is_not_reported(aio, api, agent, make_netns, monkeypatch):
    port = ApiNetwork(api, "10.63.0").port(2)
    agent.bind(port["id"], "veth", make_netns())
    assert wait_status(api, port["id"], "ACTIVE") == "ACTIVE"
    real_host_layer = check._host_layer
    deleted = []

    def delete_then_read_hosts(settings, bound_to):
        # Between the model read (the port is bound here) and the host inventory: unplugged and
        # deleted, as a CNI DEL or `ovnet port unbind` + `openstack port delete` do.
        if not deleted:
            agent.unbind(port["id"])
            api.delete_port(port["id"])
            deleted.append(port["id"])
        return real_host_layer(settings, bound_to)

    monkeypatch.setattr(check, "_host_layer", delete_then_read_hosts)
    found, unreadable = check.collect_layers(aio, settle_s=0.5)

    assert deleted and unreadable == []
    assert not [f for f in found if port["id"] in f["problem"]], problems(found)


def _sql(settings) -> sqlite3.Connection:
    # Foreign keys off, as a restore or a hand-edit behind the API's back could leave the store.
    db = sqlite3.connect(settings.sql_url.removeprefix("sqlite:///"), timeout=30, isolation_level=None)
    db.execute("PRAGMA foreign_keys=OFF")
    return db


def test_each_planted_inconsistency_is_reported(aio, api, agent, make_netns):
    net = ApiNetwork(api, "10.62.0")
    chassis = aio.chassis_name
    nb = f"--db={aio.nb_connection}"
    # nb-sb (and host): an up port the model says is bound elsewhere
    moved = net.port(2)
    agent.bind(moved["id"], "veth", make_netns())
    # host: a device of a bound port taken off the bridge
    unbridged = net.port(3)
    agent.bind(unbridged["id"], "veth", make_netns())
    for port in (moved, unbridged):
        assert wait_status(api, port["id"], "ACTIVE") == "ACTIVE"
    # model-nb and host: an LSP deleted from NB whose port is bound here, with an interface
    # ovn-controller can therefore never install
    lost = net.port(4)
    api.bind_port_host(lost["id"], chassis)
    subprocess.run(["ovn-nbctl", nb, "--timeout=10", "lsp-del", lost["id"]], check=True)
    # host: a port bound here with nothing plugged
    bare = net.port(5)
    api.bind_port_host(bare["id"], chassis)
    ghost = str(uuid.uuid4())  # host: an ovnet OVS interface of a port that never existed
    ovs = LocalOvs(aio.ovs_db_sock, aio.bridge)
    try:
        ovs.add_port("chkghost0", ghost, "02:00:00:00:0c:01", "internal", internal=True)
        ovs.add_port("chklost0", lost["id"], lost["mac_address"], "internal", internal=True)
        ovs.del_port(veth_host_name(unbridged["id"]))
    finally:
        ovs.close()
    db = _sql(aio)
    db.execute("UPDATE ports SET binding_host_id = 'elsewhere' WHERE id = ?", (moved["id"],))
    # ipam: an address held by a port that no longer exists
    gone = str(uuid.uuid4())
    db.execute("INSERT INTO ipallocations (port_id, subnet_id, ip_address) VALUES (?, ?, '10.62.0.9')",
               (gone, net.subnet["id"]))
    # ipam: a copy of the subnet (same CIDR) where another port holds moved's address again
    columns = [row[1] for row in db.execute("PRAGMA table_info(subnets)")]
    twin = str(uuid.uuid4())
    db.execute(f"INSERT INTO subnets ({', '.join(columns)}) SELECT "
               + ", ".join("?" if c == "id" else c for c in columns) + " FROM subnets WHERE id = ?",
               (twin, net.subnet["id"]))
    db.execute("INSERT INTO ipallocations (port_id, subnet_id, ip_address) VALUES (?, ?, '10.62.0.2')",
               (bare["id"], twin))
    db.close()

    rc, found, err = ovnet_check(aio)

    text = problems(found)
    assert rc == 1, text + err
    expected = [
        f"model-nb: Logical_Switch_Port {lost['id']}: missing in NB",
        f"nb-sb: port {moved['id']} is up in NB and claimed by {chassis} in SB, but is bound to elsewhere",
        f"host: {chassis}: OVS interface {veth_host_name(moved['id'])} belongs to port {moved['id']}, "
        "which is bound to elsewhere",
        f"host: port {moved['id']} is bound to elsewhere, whose agent was not reached",
        f"host: {chassis}: port {lost['id']}'s OVS interface chklost0 has no ovn-installed",
        f"host: {chassis}: port {bare['id']} is bound here but has no OVS interface",
        f"host: {chassis}: port {unbridged['id']} is bound here but has no OVS interface",
        f"host: {chassis}: device {veth_host_name(unbridged['id'])} (veth) of port {unbridged['id']} "
        "is not on the integration bridge",
        f"host: {chassis}: OVS interface chkghost0 belongs to port {ghost}, which does not exist",
        f"ipam: address 10.62.0.9 (subnet {net.subnet['id']}) is held by port {gone}, which does not exist",
        f"ipam: address 10.62.0.2 is held 2 times in network {net.network['id']}: ports "
        + ", ".join(sorted([moved["id"], bare["id"]])),
    ]
    for line in expected:
        assert line in text.splitlines(), f"{line!r} not in:\n{text}"
    assert all(f["objects"] for f in found)
