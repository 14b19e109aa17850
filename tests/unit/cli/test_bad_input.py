"""What a new user typed wrong, and what a hand edit left in settings.json: `ovnet up` options are
checked before anything is written (a usage error, exit 2), a changed setting on a running install
is refused with settings.json left alone, a broken settings.json and a token that cannot be an
HTTP header are one `error:` line for every command, never a traceback.

The commands run in this process through the console script's main(), as a user runs them; no OVN
is needed: each refusal comes before anything would be started or reached.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from ovnet.apiclient import ApiClient
from ovnet.config import SETTINGS_FILE, Settings
from ovnet.credentials import TokenError
from ovnet.host.agentclient import AgentClient
from ovnet.runtime import allinone
from tests.helpers.cli import run_ovnet


def _one_error_line(status: int, lines: list[str], codes: tuple[int, ...] = (2,)) -> str:
    assert status in codes and len(lines) == 1 and lines[0].startswith("error: "), (status, lines)
    return lines[0]


@pytest.fixture
def state(tmp_path, monkeypatch):
    for name in ("OVNET_STATE_DIR", "OS_TOKEN", "OVNET_API_PORT", "OVNET_DATAPATH"):
        monkeypatch.delenv(name, raising=False)
    # No OVS/OVN binary on PATH: should a check ever let `up` through, it stops at "ovsdb-server not
    # found" instead of starting an all-in-one in this (the root) network namespace.
    monkeypatch.setenv("PATH", str(tmp_path / "no-binaries"))
    return tmp_path / "state"


@pytest.mark.parametrize("args", [["--api-port", "99999"], ["--api-port", "0"], ["--nb-port", "-1"],
                                  ["--sb-port", "65536"], ["--datapath", "foo"], ["--datapath", "kernel"]])
def test_a_bad_up_option_is_a_usage_error_before_anything_is_written(state, monkeypatch, capsys, args):
    status, lines = run_ovnet(monkeypatch, capsys, "up", "--state-dir", str(state), *args)
    assert status == 2 and any(args[0] in line for line in lines), lines
    assert not state.exists()


@pytest.mark.parametrize("args, says", [
    (["--api-port", "6642"], "--api-port 6642 is also --sb-port"),  # the SB's default port
    (["--nb-port", "7000", "--sb-port", "7000"], "--sb-port 7000 is also --nb-port"),
    (["--encap-ip", "hv1"], "bad encap-ip 'hv1'"),
    (["--listen-host", "localhost"], "bad listen-host 'localhost'"),
])
def test_settings_that_cannot_work_together_are_refused_before_anything_is_written(state, monkeypatch, capsys,
                                                                                   args, says):
    line = _one_error_line(*run_ovnet(monkeypatch, capsys, "up", "--state-dir", str(state), *args))
    assert says in line
    assert not state.exists()


# A hand edit the dataclass alone would take, and a later command would trip over.
BROKEN = [{"datapath": "foo"}, {"api_port": 0}, {"api_port": 99999}, {"api_port": True}, {"nb_port": None},
          {"sync_interval": "soon"}, {"nb_remotes": [6641]}, {"encap_ip": "nowhere"}, {"role": "boss"}]
COMMANDS = [["status"], ["down"], ["up"], ["sync", "--check"], ["check"], ["project", "list"],
            ["trace", "--from", "a", "--to", "10.0.0.1"], ["port", "bind", "p1", "--netns", "w1"], ["demo", "--clean"],
            ["host", "list"], ["vm", "list"], ["cni", "install", "net1", "--conf-dir", "/nonexistent"],
            ["backup", "/nonexistent/x.db"]]


@pytest.mark.parametrize("broken", BROKEN, ids=lambda b: "-".join(f"{k}={v}" for k, v in b.items()))
def test_a_broken_settings_file_is_one_error_line_for_every_command(state, monkeypatch, capsys, broken):
    state.mkdir()
    (state / SETTINGS_FILE).write_text(json.dumps(broken))
    for command in COMMANDS:
        line = _one_error_line(*run_ovnet(monkeypatch, capsys, *command, "--state-dir", str(state)))
        assert next(iter(broken)) in line.replace("-", "_"), (command, line)
    assert json.loads((state / SETTINGS_FILE).read_text()) == broken


def test_a_changed_setting_on_a_running_install_is_refused_and_not_saved(state, monkeypatch, capsys):
    Settings(state_dir=state).save()
    before = (state / SETTINGS_FILE).read_bytes()
    # ovnet-server "runs": its pidfile names a live process of ours (nothing is started or signalled)
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        server = next(s for s in allinone.services(Settings(state_dir=state)) if s.name == "ovnet-server")
        server.pidfile.parent.mkdir(parents=True, exist_ok=True)
        server.pidfile.write_text(f"{sleeper.pid}\n")
        for args in (["--api-port", "19696"], ["--datapath", "netdev"]):
            line = _one_error_line(*run_ovnet(monkeypatch, capsys, "up", "--state-dir", str(state), *args), codes=(1,))
            assert "ovnet is running" in line and "`ovnet down` first" in line, line
            assert (state / SETTINGS_FILE).read_bytes() == before
    finally:
        sleeper.kill()
        sleeper.wait()


@pytest.mark.parametrize("token", ["a\nb", "bögus", "x y", "tab\there", "nul\x00"])
def test_a_token_that_cannot_be_a_header_is_refused_by_both_clients(tmp_path, token):
    with pytest.raises(TokenError, match="printable ASCII") as refused:
        ApiClient("http://127.0.0.1:1", token)
    assert token not in str(refused.value)  # a secret: the message names a position, never the token
    with pytest.raises(TokenError, match="printable ASCII"):
        AgentClient(tmp_path / "agent.sock", token)


@pytest.fixture
def installed(state):
    """A stopped installation on a port nothing listens on, with an agent socket path present, so
    each command gets as far as building its client."""
    Settings(state_dir=state, api_port=1).save()
    Settings(state_dir=state).run_dir.mkdir(parents=True)
    Settings(state_dir=state).agent_socket.touch()
    return state


@pytest.mark.parametrize("token", ["a\nb", "bögus"])
def test_a_bad_token_is_one_error_line_for_every_command_taking_one(installed, monkeypatch, capsys, token):
    given = [["trace", "--from", "a", "--to", "10.0.0.1"], ["port", "bind", "p1", "--netns", "w1"],
             ["port", "unbind", "p1", "--host", Settings(state_dir=installed).chassis_name], ["vm", "rm", "vm1"]]
    for command in given:
        for how in ("flag", "env"):
            extra = ["--token", token] if how == "flag" else []
            if how == "env":
                monkeypatch.setenv("OS_TOKEN", token)
            line = _one_error_line(*run_ovnet(monkeypatch, capsys, *command, *extra, "--state-dir", str(installed)),
                                   codes=(1, 2))
            assert "printable ASCII" in line, (command, how, line)
            monkeypatch.delenv("OS_TOKEN", raising=False)
    # without --token, the admin token file: missing, then holding the bad token
    line = _one_error_line(*run_ovnet(monkeypatch, capsys, "trace", "--from", "a", "--to", "10.0.0.1",
                                   "--state-dir", str(installed)))
    assert "no admin token" in line
    Settings(state_dir=installed).admin_token_file.write_text(token + "\n")
    for command in (["project", "list"], ["trace", "--from", "a", "--to", "10.0.0.1"]):
        line = _one_error_line(*run_ovnet(monkeypatch, capsys, *command, "--state-dir", str(installed)), codes=(1, 2))
        assert "printable ASCII" in line, (command, line)


@pytest.mark.parametrize("value", ["100", "30.5", "-1", "nan"])
def test_check_settle_outside_0_to_30_seconds_is_one_usage_error_line(state, monkeypatch, capsys, value):
    # README: --settle is at most 30; 100 was taken silently. Refused before any layer is read.
    line = _one_error_line(*run_ovnet(monkeypatch, capsys, "check", "--settle", value, "--state-dir", str(state)))
    assert line.startswith("error: --settle must be between 0 and 30 seconds"), line
    assert not state.exists()
