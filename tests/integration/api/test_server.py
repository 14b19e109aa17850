"""ovnet-server as a process: token bootstrap, clouds.yaml, restart, `ovnet project create`, ApiClient."""

from __future__ import annotations

import stat
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from ovnet.apiclient import ApiClient, ApiError
from ovnet.config import ADMIN_TOKEN_FILE, CLOUDS_FILE

OVNET = Path(sys.executable).with_name("ovnet")


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_bootstrap_writes_private_admin_token_and_clouds_yaml(endpoint):
    state = endpoint.settings.state_dir
    assert _mode(state / ADMIN_TOKEN_FILE) == 0o600 and _mode(state / CLOUDS_FILE) == 0o600
    cloud = yaml.safe_load((state / CLOUDS_FILE).read_text())["clouds"]["ovnet"]
    # Keystone v3 token auth against the server's own /v3 (ovnet.api.authtokens)
    assert cloud == {"auth_type": "v3token",
                     "auth": {"auth_url": f"{endpoint.settings.api_url}/v3", "token": endpoint.token},
                     "identity_api_version": "3"}
    with ApiClient(endpoint.settings.api_url, endpoint.token) as api:
        assert api.list_networks() == []
    with ApiClient(endpoint.settings.api_url, "wrong") as api, pytest.raises(ApiError) as exc:
        api.list_networks()
    assert (exc.value.status, exc.value.type) == (401, "NotAuthorized")


def test_restart_keeps_the_token_and_the_data(server_process):
    server, settings = server_process
    token = settings.admin_token_file.read_text().strip()
    with ApiClient(settings.api_url, token) as api:
        net = api.create_network(name="kept")
    server.stop()
    server.start()
    assert settings.admin_token_file.read_text().strip() == token
    with ApiClient(settings.api_url, token) as api:
        assert api.show_network(net["id"])["name"] == "kept"


def test_project_create_gives_a_member_token_confined_to_its_project(endpoint):
    out = subprocess.run([str(OVNET), "project", "create", "tenant-a", "--state-dir", str(endpoint.settings.state_dir)],
                         capture_output=True, text=True, timeout=60, env={"OVNET_API_PORT": str(endpoint.settings.api_port),
                                                                          "PATH": "/usr/bin:/bin"})
    assert out.returncode == 0, out.stderr
    entry = yaml.safe_load(out.stdout.split("clouds.yaml entry:\n", 1)[1])["clouds"]["ovnet-tenant-a"]
    token = entry["auth"]["token"]
    assert f"token: {token}" in out.stdout and entry["auth"]["auth_url"] == f"{endpoint.settings.api_url}/v3"
    with ApiClient(endpoint.settings.api_url, endpoint.token) as admin:
        hidden = admin.create_network(name="admin-only")
    with ApiClient(endpoint.settings.api_url, token) as member:
        own = member.create_network(name="mine")
        assert [n["id"] for n in member.list_networks()] == [own["id"]]
        with pytest.raises(ApiError) as exc:
            member.show_network(hidden["id"])
        assert (exc.value.status, exc.value.type) == (404, "NetworkNotFound")
    again = subprocess.run([str(OVNET), "project", "create", "tenant-a", "--state-dir", str(endpoint.settings.state_dir)],
                           capture_output=True, text=True, timeout=60)
    assert again.returncode == 1 and "already exists" in again.stderr


def test_api_client_pages_through_links_and_reports_neutron_errors(endpoint):
    with ApiClient(endpoint.settings.api_url, endpoint.token) as api:
        net = api.create_network(name="n")
        api.create_subnet(network_id=net["id"], cidr="10.30.0.0/24", ip_version=4)
        made = api.create_bulk("port", "ports", [{"network_id": net["id"], "name": f"p{i}"} for i in range(7)])
        assert sorted(p["id"] for p in api.list_ports(limit=3)) == sorted(p["id"] for p in made)
        assert len(api.list_ports(name=["p1", "p2"])) == 2
        with pytest.raises(ApiError) as exc:
            api.create_port(network_id=net["id"], fixed_ips=[{"ip_address": made[0]["fixed_ips"][0]["ip_address"]}])
        assert (exc.value.status, exc.value.type) == (409, "IpAddressAlreadyAllocated")
