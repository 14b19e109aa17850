"""One exit-status rule across the CLI (``ovnet --help``, README): 2 for a usage error (a malformed
argument, told before anything is asked of the API or started), 1 for a refusal or a failure
(the API server or the all-in-one not there, an unknown object). New users found `ovnet host
add` exiting 1 on a bad name where `ovnet project create` exited 2, and `ovnet port bind` blaming
the agent when only the API server was down.

The commands run in this process through the console script's main(), with no server at all.
"""

from __future__ import annotations

import socket

import pytest

from tests.helpers.cli import run_ovnet


@pytest.fixture
def state(tmp_path, monkeypatch):
    for name in ("OVNET_STATE_DIR", "OS_TOKEN", "OVNET_API_PORT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PATH", str(tmp_path / "no-binaries"))  # nothing can be started, whatever gets through
    with socket.socket() as free:  # a loopback port nothing listens on once this socket is closed
        free.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{free.getsockname()[1]}"
    monkeypatch.setenv("OVNET_API_URLS", url)
    monkeypatch.setenv("OVNET_STATE_DIR", str(tmp_path / "state"))
    return url


@pytest.mark.parametrize("args", [
    ["host", "add", "Bad_Name"],
    ["vm", "run", "bad name!", "--port", "p1"],
    ["vm", "run", "vm1", "--port", "p1", "--port", "p1"],
    ["vm", "run", "vm1", "--port", "p1", "--port", "p2", "--tap", "t1"],
    ["cni", "install", "net1", "--name", "-bad"],
    ["cni", "uninstall", "-bad"],
    ["project", "create", "bad name!"],
    ["trace", "--from", "a", "--to", "10.0.0.1", "--proto", "sctp"],
    ["port", "bind", "p1"],
    ["up", "--no-such-option"],
])
def test_a_malformed_argument_is_a_usage_error(state, monkeypatch, capsys, args):
    status, lines = run_ovnet(monkeypatch, capsys, *args)
    assert status == 2, (status, lines)
    assert not any("unreachable" in line or "no admin token" in line for line in lines), lines


@pytest.mark.parametrize("args, says", [
    (["host", "add", "hv9"], "the all-in-one is not running"),
    (["vm", "rm", "nosuch"], "no VM nosuch"),
    (["project", "create", "fine"], "no admin token"),
    (["cni", "install", "net1", "--name", "fine"], "cannot look the network up"),
    (["port", "bind", "p1", "--netns", "w1", "--token", "t0ken"], "no API server reachable at {url} ("),
    (["port", "unbind", "p1", "--token", "t0ken"], "no API server reachable at {url} ("),
    (["vm", "run", "vm1", "--port", "p1", "--token", "t0ken"], "no API server reachable at {url} ("),
    (["port", "libvirt-xml", "p1", "--token", "t0ken"], "no API server reachable at {url} ("),
])
def test_a_refusal_or_failure_is_status_1_in_one_line(state, monkeypatch, capsys, args, says):
    status, lines = run_ovnet(monkeypatch, capsys, *args)
    assert status == 1 and len(lines) == 1 and lines[0].startswith("error: "), (status, lines)
    assert says.format(url=state) in lines[0]
    assert "agent" not in lines[0]  # only the API server is away: the agent is not blamed
