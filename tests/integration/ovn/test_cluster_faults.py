"""Faults a Raft-clustered central survives (issue 13), with real daemons: `ovnet up --role central
--cluster-size 3` (three members, each in a namespace of its own) and one `--role compute` host.

One cluster serves the whole module; each test breaks something with SIGKILL, checks the outcome
and repairs with `ovnet up` (which restarts whatever died), as an operator would."""

from __future__ import annotations

import os
import signal
import threading
import time

import httpx
import pytest

from ovnet.apiclient import ApiClient
from ovnet.host.agentclient import AgentClient
from ovnet.runtime import allinone as aio
from ovnet.runtime import cluster
from ovnet.runtime.process import RuntimeFailure, run
from tests.helpers.hostnet import ApiNetwork, wait_status
from tests.helpers.roles import ovnet_cli, running_roles
from tests.helpers.wait import wait_for

pytestmark = [pytest.mark.root, pytest.mark.ovn]
RESUME_S = 5.0  # the limit: writes resume within 5 s of the leader's death
CLIENTS = 8


@pytest.fixture(scope="module")
def roles(tmp_path_factory):
    """(central Settings, compute Settings) of a running 3-member central and one compute host."""
    with running_roles(tmp_path_factory.mktemp("cluster"), computes=1, cluster_size=3) as (central, (compute,)):
        yield central, compute


@pytest.fixture
def repaired(roles):
    """The cluster, brought back to full health by `ovnet up` after the test's fault."""
    yield roles
    central, _compute = roles
    aio.up(central)
    for member in cluster.members(central):
        for db in ("nb", "sb"):
            assert wait_for(lambda: "Status: cluster member" in cluster.cluster_status(member, db), 30)


def _is_leader(member: cluster.Member, db: str) -> bool:
    try:
        return cluster.is_leader(member, db)
    except RuntimeFailure:  # a killed server does not answer
        return False


def _leader(central, db: str) -> cluster.Member:
    found = wait_for(lambda: [m for m in cluster.members(central) if _is_leader(m, db)], 30,
                     what=f"a {db} leader")
    return found[0]


def _kill(central, member: cluster.Member, service: str) -> None:
    svc = next(s for s in cluster.member_services(central, member) if s.name.endswith(service))
    os.kill(svc.pid(), signal.SIGKILL)


def _sync_check(central) -> list[str]:
    """The drift lines of `ovnet sync --check` (exit 0: none)."""
    done = ovnet_cli(central, "sync", "--check")
    assert done.returncode in (0, 1), done.stdout + done.stderr
    if done.returncode == 0:
        return []
    return [line for line in done.stdout.splitlines() if line.strip() and "difference(s)" not in line]


def _nb_ports(central) -> set[str]:
    out = run(["ovn-nbctl", f"--db={central.nb_connection}", "--timeout=10", "--bare", "--columns=name",
               "list", "Logical_Switch_Port"], timeout=15)
    return set(out.split())


class Creators:
    """``CLIENTS`` threads creating ports through the API as fast as answers come; each answer
    is recorded as (sent at, answered at, port id, X-Ovnet-Sync), times in time.monotonic()."""

    def __init__(self, central, network_id: str):
        self.url = central.api_url + "/v2.0/ports"
        self.token = central.admin_token_file.read_text().strip()
        self.network_id = network_id
        self.acked: list[tuple[float, float, str, str]] = []
        self.errors: list[str] = []
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self._run, args=(i,), daemon=True) for i in range(CLIENTS)]

    def _run(self, index: int) -> None:
        with httpx.Client(headers={"X-Auth-Token": self.token}, timeout=60) as client:
            n = 0
            while not self.stop.is_set():
                sent = time.monotonic()
                body = {"port": {"network_id": self.network_id, "name": f"c{index}-{n}"}}
                try:
                    answer = client.post(self.url, json=body)
                except httpx.HTTPError as exc:
                    self.errors.append(f"{type(exc).__name__}: {exc}")
                    continue
                if answer.status_code != 201:
                    self.errors.append(f"{answer.status_code} {answer.text[:200]}")
                    continue
                self.acked.append((sent, time.monotonic(), answer.json()["port"]["id"], answer.headers["X-Ovnet-Sync"]))
                n += 1

    def __enter__(self) -> Creators:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=90)

    def first_confirmed_after(self, moment: float) -> float | None:
        done = [answered for sent, answered, _id, sync in self.acked if sent >= moment and sync == "confirmed"]
        return min(done) if done else None


def test_killing_the_nb_leader_under_8_writers_loses_no_acknowledged_write(repaired, capsys):
    central, _compute = repaired
    with ApiClient.from_settings(central) as api:
        network = api.create_network(name="faults-nb")
    leader = _leader(central, "nb")
    with Creators(central, network["id"]) as creators:
        assert wait_for(lambda: len(creators.acked) >= 2 * CLIENTS, 30, what="creates before the kill")
        killed = time.monotonic()
        _kill(central, leader, "ovsdb-nb")
        wait_for(lambda: creators.first_confirmed_after(killed), 60)
        time.sleep(1.0)  # some writes on the new leader
    resumed = creators.first_confirmed_after(killed)
    assert creators.errors == []
    assert resumed is not None, "no write confirmed by NB after the leader died"
    new_leader = _leader(central, "nb")
    with capsys.disabled():
        print(f"\nNB leader c{leader.index} killed: {len(creators.acked)} ports acknowledged, writes confirmed again "
              f"after {resumed - killed:.2f} s; new leader c{new_leader.index}")
    assert resumed - killed <= RESUME_S
    assert new_leader.index != leader.index
    acked = {port_id for _s, _a, port_id, _sync in creators.acked}
    assert wait_for(lambda: not acked - _nb_ports(central), 30), f"lost: {sorted(acked - _nb_ports(central))[:5]}"
    assert _sync_check(central) == []


def test_killing_the_active_northd_lets_a_standby_take_over(repaired, make_netns, capsys):
    central, compute = repaired

    def status(member: cluster.Member) -> str:
        try:
            return run(["ovn-appctl", "-t", str(member.ctl("ovn-northd")), "status"], timeout=5)
        except RuntimeFailure:  # the killed one
            return "gone"

    def active() -> list[cluster.Member]:
        return [m for m in cluster.members(central) if "Status: active" in status(m)]

    first = wait_for(active, 30, what="an active ovn-northd")
    assert len(first) == 1
    _kill(central, first[0], "ovn-northd")
    killed = time.monotonic()
    took = wait_for(lambda: [m for m in active() if m.index != first[0].index], 30, what="a standby taking over")
    took_s = time.monotonic() - killed
    with ApiClient.from_settings(central) as api, AgentClient(compute.agent_socket) as agent:
        port = ApiNetwork(api, "10.82.0").port(5)
        agent.bind(port["id"], "veth", make_netns())
        assert wait_status(api, port["id"], "ACTIVE", timeout=30) == "ACTIVE"
    with capsys.disabled():
        print(f"\nactive ovn-northd c{first[0].index} killed: c{took[0].index} active after {took_s:.2f} s")


def test_killing_the_sb_leader_while_ports_bind_loses_no_binding(repaired, make_netns, capsys):
    central, compute = repaired
    leader = _leader(central, "sb")
    ns = make_netns()
    with ApiClient.from_settings(central) as api, AgentClient(compute.agent_socket, timeout_s=90) as agent:
        net = ApiNetwork(api, "10.83.0")
        ports = [net.port(10 + i) for i in range(CLIENTS)]
        bound: dict[str, float] = {}

        def bind(index: int) -> None:
            time.sleep(0.2 * index)  # spread over the kill
            agent_one = AgentClient(compute.agent_socket, timeout_s=90)
            try:
                agent_one.bind(ports[index]["id"], "veth", ns, ifname=f"eth{index}")
            finally:
                agent_one.close()
            bound[ports[index]["id"]] = time.monotonic()

        threads = [threading.Thread(target=bind, args=(i,)) for i in range(CLIENTS)]
        for thread in threads:
            thread.start()
        time.sleep(0.5)
        killed = time.monotonic()
        _kill(central, leader, "ovsdb-sb")
        for thread in threads:
            thread.join(timeout=120)
        assert len(bound) == CLIENTS, "a bind failed"
        for port in ports:
            assert wait_status(api, port["id"], "ACTIVE", timeout=30) == "ACTIVE"
        active_at = time.monotonic()
        assert {b["port_id"] for b in agent.bindings()} >= {p["id"] for p in ports}
    new_leader = _leader(central, "sb")
    assert new_leader.index != leader.index
    with capsys.disabled():
        print(f"\nSB leader c{leader.index} killed while {CLIENTS} ports bound: all bound "
              f"{max(bound.values()) - killed:.2f} s and ACTIVE {active_at - killed:.2f} s after the kill")
    assert _sync_check(central) == []


def test_a_whole_central_member_restarted_rejoins_both_clusters(repaired):
    central, _compute = repaired
    member = next(m for m in cluster.members(central) if not _is_leader(m, "nb"))
    for svc in cluster.member_services(central, member):
        os.kill(svc.pid(), signal.SIGKILL)
    with ApiClient.from_settings(central) as api:  # the two others still hold a majority
        network = api.create_network(name="while-c-down")
    aio.up(central)  # restarts exactly the dead member's processes
    for db in ("nb", "sb"):
        assert wait_for(lambda: "Status: cluster member" in cluster.cluster_status(member, db), 30)
    # Its own replica caught up with what was written while it was away.
    sock = f"unix:{member.sock('nb')}"

    def replica_has_network() -> bool:
        try:
            names = run(["ovn-nbctl", f"--db={sock}", "--no-leader-only", "--bare", "--columns=name",
                         "list", "Logical_Switch"])
        except RuntimeFailure:  # a rejoining member refuses clients until it has caught up
            return False
        return f"ovnet-{network['id']}" in names

    assert wait_for(replica_has_network, 30)
