"""`ovnet up --role central` and `--role compute` as two machines would run them: a compute host
(its vswitchd in a private namespace, its own state dir) reaches the central's NB/SB/API over
loopback through its remotes, and a port bound there turns ACTIVE."""

from __future__ import annotations

import pytest

from ovnet.apiclient import ApiClient
from ovnet.host.agentclient import AgentClient
from ovnet.runtime import allinone as aio
from ovnet.runtime.process import RuntimeFailure
from tests.helpers.allinone import private_settings
from tests.helpers.hostnet import ApiNetwork, wait_status
from tests.helpers.roles import ovnet_cli, running_roles

pytestmark = [pytest.mark.root, pytest.mark.ovn]


def test_central_and_compute_split_the_all_in_one_and_a_port_on_the_compute_turns_active(tmp_path, make_netns):
    with running_roles(tmp_path, computes=1) as (central, (compute,)):
        assert [r.name for r in aio.status(central)] == ["ovsdb-nb", "ovsdb-sb", "ovn-northd", "ovnet-server"]
        assert [r.name for r in aio.status(compute)] == ["ovsdb-local", "ovs-vswitchd", "ovn-controller",
                                                          "ovnet-agent"]
        assert all(r.healthy for r in aio.status(central) + aio.status(compute))

        shown = ovnet_cli(compute, "status")
        assert shown.returncode == 0, shown.stdout + shown.stderr
        assert "role: compute" in shown.stdout
        assert f"SB {central.sb_connection}" in shown.stdout and f"API {central.api_url}" in shown.stdout

        with ApiClient.from_settings(central) as api, AgentClient(compute.agent_socket) as agent:
            port = ApiNetwork(api, "10.81.0").port(5)
            agent.bind(port["id"], "veth", make_netns())
            assert wait_status(api, port["id"], "ACTIVE") == "ACTIVE"
            assert api.show_port(port["id"])["binding:host_id"] == compute.chassis_name


def test_a_compute_without_the_central_token_refuses_to_start(tmp_path):
    compute = private_settings(tmp_path, role="compute", sb_remotes=("tcp:127.0.0.1:1",),
                               api_urls=("http://127.0.0.1:1",))
    try:
        with pytest.raises(RuntimeFailure, match="admin-token"):
            aio.up(compute)
        assert all(r.pid is None for r in aio.status(compute))
    finally:
        aio.down(compute, purge=True)
