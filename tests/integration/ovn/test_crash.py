"""A crash between the SQL commit and the NB write loses nothing: the real ovnet-server process,
killed with SIGKILL after committing changes NB never saw, converges NB when it starts again."""

from __future__ import annotations

import time

import httpx
import pytest

from ovnet.apiclient import ApiClient
from ovnet.config import Settings
from ovnet.model.store import Store
from ovnet.ovn.syncer import Syncer
from ovnet.runtime.process import free_port
from tests.helpers.apiserver import ServerProcess

pytestmark = pytest.mark.ovn


def kill9(server: ServerProcess) -> None:
    """SIGKILL the server by pid: no shutdown code runs."""
    if server.proc is not None and server.proc.poll() is None:
        server.proc.kill()
        server.proc.wait()


@pytest.fixture
def server(nb_server, tmp_path, monkeypatch):
    monkeypatch.delenv("OVNET_SQL_URL", raising=False)  # the server uses its state dir's SQLite
    state = tmp_path / "state"
    Settings(state_dir=state, nb_port=nb_server.port).save()
    srv = ServerProcess(state, free_port(), no_sync=False)
    srv.settings = srv.start()
    yield srv
    srv.stop()


def post(settings, plural, body):
    token = settings.admin_token_file.read_text().strip()
    answer = httpx.post(f"{settings.api_url}/v2.0/{plural}", json=body, headers={"X-Auth-Token": token}, timeout=30)
    assert answer.status_code == 201, answer.text
    return answer.headers["X-Ovnet-Sync"], next(iter(answer.json().values()))


def drift(settings):
    store = Store(settings.sql_url)
    syncer = Syncer(store, settings)
    try:
        return syncer.drift()
    finally:
        syncer.stop()
        store.dispose()


def test_kill9_after_commit_while_nb_is_down_then_restart_converges(nb_server, server):
    settings = server.settings
    sync, net = post(settings, "networks", {"network": {"name": "crash"}})
    assert sync == "confirmed"
    assert nb_server.nbctl("get", "Logical_Switch", f"ovnet-{net['id']}", "external_ids:ovnet\\:name") == "crash"

    nb_server.stop()
    sync, sub = post(settings, "subnets", {"subnet": {"network_id": net["id"], "cidr": "10.9.0.0/24", "ip_version": 4}})
    assert sync == "pending"
    sync, port = post(settings, "ports", {"port": {"network_id": net["id"], "name": "p1"}})
    assert sync == "pending"
    kill9(server)

    nb_server.start()
    assert nb_server.nbctl("lsp-list", f"ovnet-{net['id']}") == ""
    server.start()
    deadline = time.monotonic() + 20
    while port["id"] not in nb_server.nbctl("lsp-list", f"ovnet-{net['id']}") and time.monotonic() < deadline:
        time.sleep(0.1)
    ip = port["fixed_ips"][0]["ip_address"]
    assert nb_server.nbctl("lsp-get-addresses", port["id"]) == f"{port['mac_address']} {ip}"
    assert nb_server.nbctl("lsp-get-dhcpv4-options", port["id"]).split()[1] == "(10.9.0.0/24)"
    assert drift(settings) == []
    with ApiClient.from_settings(settings) as api:
        api.delete_port(port["id"])
    assert nb_server.nbctl("lsp-list", f"ovnet-{net['id']}") == ""
