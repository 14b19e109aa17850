"""The agent's socket is root's alone and every request but the health check needs a token: a
local user can neither connect nor, as root without a token, bind anything."""

from __future__ import annotations

import stat
from pathlib import Path
import subprocess
import sys
import uuid

import httpx
import pytest

from ovnet.apiclient import ApiClient, ApiError
from ovnet.host.agent import create_app as agent_app
from ovnet.host.agentclient import AgentClient
from tests.helpers.hostnet import ApiNetwork

pytestmark = [pytest.mark.root, pytest.mark.ovn]

CONNECT = """
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
try:
    s.connect(sys.argv[1])
except PermissionError:
    print("refused")
else:
    print("connected")
"""


def _searchable_by_all(path):
    """Give others search (x) permission on ``path`` and its parents under /tmp, so that only the
    socket's own mode can stop them; returns [(dir, old mode)] to restore."""
    changed = []
    for directory in [path, *path.parents]:
        if directory in (Path("/tmp"), Path("/")):
            break
        mode = stat.S_IMODE(directory.stat().st_mode)
        changed.append((directory, mode))
        directory.chmod(mode | 0o001)
    return changed


def test_socket_is_root_only_and_refuses_an_unprivileged_user(allinone):
    sock = allinone.agent_socket
    mode = sock.stat().st_mode
    assert stat.S_ISSOCK(mode) and stat.S_IMODE(mode) == 0o600
    changed = _searchable_by_all(sock.parent)
    try:
        # the system interpreter: root's virtualenv is not nobody's to run
        seen = subprocess.run(["runuser", "-u", "nobody", "--", "/usr/bin/python3", "-c", CONNECT, str(sock)],
                              capture_output=True, text=True, timeout=30, check=True)
    finally:
        for directory, old in changed:
            directory.chmod(old)
    assert seen.stdout.strip() == "refused", seen.stderr


def test_requests_without_a_token_get_401_and_change_nothing(allinone, api, make_netns):
    port = ApiNetwork(api, "10.84.0").port(10)
    ns = make_netns()
    transport = httpx.HTTPTransport(uds=str(allinone.agent_socket))
    with httpx.Client(base_url="http://agent", transport=transport, timeout=30) as raw:
        assert raw.get("/healthz").json()["status"] == "ok"
        calls = [("POST", "/bindings", {"port_id": port["id"], "kind": "veth", "target": ns}),
                 ("GET", "/bindings", None), ("DELETE", f"/bindings/{port['id']}", None),
                 ("POST", "/reconcile", None)]
        for method, path, body in calls:
            answer = raw.request(method, path, json=body)
            assert answer.status_code == 401, (method, path, answer.text)
            assert answer.json()["NeutronError"]["type"] == "NotAuthorized"
        answer = raw.post("/bindings", json=calls[0][2], headers={"X-Auth-Token": "not-a-token"})
        assert answer.status_code == 401 and "NeutronError" in answer.json()
    assert api.show_port(port["id"])["binding:host_id"] == ""
    with AgentClient(allinone.agent_socket) as admin:  # root: the local admin token by default
        assert admin.bindings() == []


def test_a_member_token_lists_only_its_own_bindings_and_a_bad_one_nothing(allinone, api, agent, make_netns):
    out = subprocess.run([sys.executable, "-m", "ovnet.cli.main", "project", "create", "auth-m",
                          "--state-dir", str(allinone.state_dir)], capture_output=True, text=True, check=True,
                         timeout=60).stdout
    token = next(line.split(": ", 1)[1] for line in out.splitlines() if line.startswith("token: "))
    theirs = ApiNetwork(api, "10.86.0").port(10)
    with ApiClient(allinone.api_url, token) as member_api:
        own = ApiNetwork(member_api, "10.86.1").port(11)
    agent.bind(theirs["id"], "veth", make_netns())
    with AgentClient(allinone.agent_socket, token) as member:
        member.bind(own["id"], "veth", make_netns())
        assert [b["port_id"] for b in member.bindings()] == [own["id"]]
    assert sorted(b["port_id"] for b in agent.bindings()) == sorted([theirs["id"], own["id"]])
    with pytest.raises(ApiError) as refused, AgentClient(allinone.agent_socket, "not-a-token") as stranger:
        stranger.bindings()
    assert refused.value.status == 401


def _normalized(answer: httpx.Response, ids: list[str]) -> tuple[int, str]:
    text = answer.text
    for value in ids:
        text = text.replace(value, "<id>")
    return answer.status_code, text


def test_every_agent_route_needs_a_token_and_hides_other_projects_objects(allinone, api, agent, make_netns):
    """Issue 15, the agent's socket: every route (from the agent app itself, so a new one is covered
    the day it appears) but the health check and the scrape answers 401 without a token or with a
    wrong one; a member given another project's port or network ids gets what unknown ids get, and
    403 on the admin-only routes (the host inventory)."""
    routes = sorted((m.upper(), path) for path, ops in agent_app(None, None, "c", "t").openapi()["paths"].items()
                    for m in ops)
    open_routes = {("GET", "/healthz"), ("GET", "/metrics")}
    # A host's inventory names ports of every project and devices of deleted ones: like Neutron's
    # agent resources (policy get_agent: admin only) it is the admin's, a member gets 403.
    admin_routes = {("GET", "/inventory")}
    out = subprocess.run([sys.executable, "-m", "ovnet.cli.main", "project", "create", "auth-b",
                          "--state-dir", str(allinone.state_dir)], capture_output=True, text=True, check=True,
                         timeout=60).stdout
    token = next(line.split(": ", 1)[1] for line in out.splitlines() if line.startswith("token: "))
    theirs = ApiNetwork(api, "10.87.0").port(10)
    agent.bind(theirs["id"], "veth", make_netns())
    unknown = str(uuid.uuid4())
    env = {"CNI_CONTAINERID": "c" * 64, "CNI_NETNS": "/proc/1/ns/net", "CNI_IFNAME": "eth9", "CNI_PATH": "/usr/bin"}

    def body(method: str, path: str, port_id: str, network_id: str) -> dict | None:
        if path == "/bindings" and method == "POST":
            return {"port_id": port_id, "kind": "veth", "target": "nowhere"}
        if path.startswith("/cni/"):
            return {"env": env, "config": {"cniVersion": "1.0.0", "name": "n1", "type": "ovnet",
                                           "network": network_id}}
        return None

    def fill(path: str, port_id: str) -> str:
        return path.replace("{port_id}", port_id).replace("{verb}", "add")

    transport = httpx.HTTPTransport(uds=str(allinone.agent_socket))
    with httpx.Client(base_url="http://agent", transport=transport, timeout=60) as raw:
        for method, path in routes:
            if (method, path) in open_routes:
                continue
            for headers in ({}, {"X-Auth-Token": "not-a-token"}):
                answer = raw.request(method, fill(path, theirs["id"]), headers=headers,
                                     json=body(method, path, theirs["id"], theirs["network_id"]))
                assert answer.status_code == 401, (method, path, headers, answer.text)
            member = {"X-Auth-Token": token}
            seen = raw.request(method, fill(path, theirs["id"]), headers=member,
                               json=body(method, path, theirs["id"], theirs["network_id"]))
            if (method, path) in admin_routes:
                assert seen.status_code == 403, (method, path, seen.text)
                assert seen.json()["NeutronError"]["type"] == "PolicyNotAuthorized", (method, path, seen.text)
                assert theirs["id"] not in seen.text, (method, path, seen.text)
                continue
            if method == "GET" or path == "/reconcile":  # a member's view of the host: its own ports only
                assert seen.status_code == 200 and theirs["id"] not in seen.text, (method, path, seen.text)
                continue
            none = raw.request(method, fill(path, unknown), headers=member, json=body(method, path, unknown, unknown))
            assert not 200 <= seen.status_code < 300, (method, path, seen.text)
            assert _normalized(seen, [theirs["id"], theirs["network_id"]]) == _normalized(none, [unknown]), \
                (method, path)
    assert [b["port_id"] for b in agent.bindings()] == [theirs["id"]]  # still bound, untouched
