"""Two real ovnet-server processes on one PostgreSQL store and one NB: exactly one (the holder of
the writer role, ovnet.ovn.writer) applies the outbox; creates through either server reach NB once;
when the writer is killed with SIGKILL the other applies what was pending within 5 s."""

from __future__ import annotations

import json
import os
import signal
import time

import httpx
import pytest

from ovnet.config import Settings
from ovnet.runtime.process import free_port
from tests.helpers.apiserver import ServerProcess
from tests.helpers.wait import wait_for
from tests.helpers.pg import fresh_database_url

pytestmark = [pytest.mark.ovn, pytest.mark.postgres]
TAKEOVER_S = 5.0
TOOK = "took the syncer writer role"


@pytest.fixture
def servers(nb_server, postgres_server, tmp_path):
    """Servers A and B (state dirs of their own, one PostgreSQL schema, one NB), started in turn."""
    started: list[ServerProcess] = []
    with fresh_database_url(postgres_server) as url:
        try:
            for name in ("a", "b"):
                state = tmp_path / name
                Settings(state_dir=state, nb_remotes=(nb_server.url,), sync_interval=3600).save()
                srv = ServerProcess(state, free_port(), no_sync=False, sql_url=url)
                started.append(srv)
                srv.settings = srv.start()
            yield started
        finally:
            for srv in started:
                if srv.proc is not None and srv.proc.poll() is None:
                    os.kill(srv.proc.pid, signal.SIGCONT)  # a stopped process cannot handle SIGTERM
                srv.stop()


def _log(srv: ServerProcess) -> str:
    return (srv.state_dir / "server.log").read_text()


def _create(srv: ServerProcess, name: str) -> tuple[str, str]:
    token = srv.settings.admin_token_file.read_text().strip()
    answer = httpx.post(f"{srv.settings.api_url}/v2.0/networks", json={"network": {"name": name}},
                        headers={"X-Auth-Token": token}, timeout=30)
    assert answer.status_code == 201, answer.text
    return answer.json()["network"]["id"], answer.headers["X-Ovnet-Sync"]


def _switches(nb_server) -> list[str]:
    rows = json.loads(nb_server.nbctl("--format=json", "--data=json", "--columns=name", "list", "Logical_Switch"))
    return [row[0] for row in rows["data"]]


def test_one_writer_applies_creates_through_either_server_once_and_a_killed_writer_is_replaced(nb_server, servers):
    assert wait_for(lambda: sum(TOOK in _log(s) for s in servers) == 1, 30), "no single writer"
    writer, follower = sorted(servers, key=lambda s: TOOK not in _log(s))

    made = [_create(srv, f"n{i}") for i in range(3) for srv in servers]
    assert all(sync == "confirmed" for _id, sync in made)  # the follower waits for the writer's NB write
    switches = _switches(nb_server)
    assert sorted(switches) == sorted(f"ovnet-{net_id}" for net_id, _ in made)  # each exactly once
    assert TOOK not in _log(follower) and "reconciling" not in _log(follower)

    os.kill(writer.proc.pid, signal.SIGSTOP)  # still holds the role: changes now stay pending
    pending = [_create(follower, f"p{i}") for i in range(2)]
    assert all(sync == "pending" for _id, sync in pending)
    assert not {f"ovnet-{net_id}" for net_id, _ in pending} & set(_switches(nb_server))

    writer.proc.kill()  # SIGKILL: its PostgreSQL session, and with it the lock, ends
    writer.proc.wait()
    killed = time.monotonic()
    want = {f"ovnet-{net_id}" for net_id, _ in pending}
    assert wait_for(lambda: want <= set(_switches(nb_server)), TAKEOVER_S), _log(follower)[-2000:]
    print(f"pending changes applied {time.monotonic() - killed:.2f} s after the writer's SIGKILL")
    assert TOOK in _log(follower)
    assert sorted(_switches(nb_server)) == sorted(f"ovnet-{i}" for i, _ in made + pending)
