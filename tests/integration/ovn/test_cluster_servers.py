"""Several ovnet-servers on one PostgreSQL in front of a Raft-clustered NB (issue 13): the
central's own server and a second one share the store; a compute host's agent knows both API
URLs. SIGKILL of the server holding the syncer writer role: the other keeps answering, takes the
role, applies what was pending within 5 s, and the agent still binds ports (client-side failover)."""

from __future__ import annotations

import os
import signal
import time

import httpx
import pytest

from ovnet.apiclient import ApiClient
from ovnet.config import Settings, load_settings
from ovnet.host.agentclient import AgentClient
from ovnet.runtime import allinone as aio
from ovnet.runtime.process import free_port, read_pid, run
from tests.helpers.allinone import private_settings
from tests.helpers.apiserver import ServerProcess
from tests.helpers.hostnet import ApiNetwork, wait_status
from tests.helpers.pg import fresh_database_url
from tests.helpers.roles import compute_settings
from tests.helpers.wait import wait_for

pytestmark = [pytest.mark.root, pytest.mark.ovn, pytest.mark.postgres]
TAKEOVER_S = 5.0
TOOK = "took the syncer writer role"


def _switches(central) -> set[str]:
    return set(run(["ovn-nbctl", f"--db={central.nb_connection}", "--timeout=10", "--bare", "--columns=name",
                    "list", "Logical_Switch"], timeout=15).split())


def test_killing_the_writer_server_leaves_the_other_writing_to_the_clustered_nb(tmp_path, postgres_server,
                                                                                 make_netns, capsys):
    with fresh_database_url(postgres_server) as url:
        central = private_settings(tmp_path / "central", role="central", cluster_size=3, sql_store=url)
        second = ServerProcess(tmp_path / "second", free_port(), no_sync=False, sql_url=url)
        compute = None
        try:
            aio.up(central)
            central = load_settings(central.state_dir)
            Settings(state_dir=second.state_dir, nb_remotes=central.nb_remotes, sb_remotes=central.sb_remotes,
                     sync_interval=3600).save()
            second.settings = second.start()
            logs = {"central": central.log_dir / "ovnet-server.log", "second": second.state_dir / "server.log"}
            assert wait_for(lambda: sum(TOOK in p.read_text() for p in logs.values()) == 1, 30), "no single writer"
            writer = next(n for n, p in logs.items() if TOOK in p.read_text())
            survivor = "second" if writer == "central" else "central"
            urls = {"central": central.api_url, "second": second.settings.api_url}
            # The writer's URL first: the agent meets the dead server and moves on.
            compute = compute_settings(tmp_path, central, "hv1", api_urls=(urls[writer], urls[survivor]))
            aio.up(compute)

            if writer == "central":
                os.kill(read_pid(central.run_dir / "ovnet-server.pid"), signal.SIGKILL)
            else:
                second.proc.kill()
            killed = time.monotonic()
            token = central.admin_token_file.read_text().strip()
            made = httpx.post(f"{urls[survivor]}/v2.0/networks", json={"network": {"name": "after-kill"}},
                              headers={"X-Auth-Token": token}, timeout=30)
            assert made.status_code == 201, made.text
            want = f"ovnet-{made.json()['network']['id']}"
            assert wait_for(lambda: want in _switches(central), TAKEOVER_S + 5), logs[survivor].read_text()[-2000:]
            applied = time.monotonic() - killed
            assert TOOK in logs[survivor].read_text()

            with ApiClient([urls[writer], urls[survivor]], token) as api, AgentClient(compute.agent_socket) as agent:
                port = ApiNetwork(api, "10.84.0").port(5)
                agent.bind(port["id"], "veth", make_netns())
                assert wait_status(api, port["id"], "ACTIVE", timeout=30) == "ACTIVE"
            with capsys.disabled():
                print(f"\nwriter ovnet-server ({writer}) killed: the {survivor} server applied a new change to the "
                      f"clustered NB {applied:.2f} s later; the agent bound through it")
            assert applied <= TAKEOVER_S
        finally:
            if compute is not None:
                aio.down(compute, purge=True)
            second.stop()
            aio.down(central, purge=True)
