"""`ovnet down` after the agent was killed with SIGKILL: the Docker plugin socket it left behind is
removed, unless a live process (another installation) serves that path by then."""

from __future__ import annotations

import os
import signal
import socket

import pytest

from ovnet.runtime import allinone as aio
from ovnet.runtime.process import pid_alive, wait_until

pytestmark = [pytest.mark.root, pytest.mark.ovn]


def _kill_agent(settings) -> None:
    agent = next(s for s in aio.services(settings) if s.name == "ovnet-agent")
    pid = agent.pid()
    os.kill(pid, signal.SIGKILL)
    assert wait_until(lambda: None if not pid_alive(pid) else "alive", 30.0) is None


def test_down_removes_the_plugin_socket_of_a_killed_agent(allinone):
    path = allinone.docker_plugin_socket
    assert path.is_socket()
    _kill_agent(allinone)
    assert path.is_socket()  # SIGKILL gives the agent no chance to clean up
    aio.down(allinone)
    assert not path.exists()


def test_down_keeps_a_live_socket_of_another_process(allinone):
    path = allinone.docker_plugin_socket
    _kill_agent(allinone)
    # Another installation took the path over after the kill: down must not take it away.
    path.unlink()
    other = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        other.bind(str(path))
        other.listen(1)
        aio.down(allinone)
        assert path.is_socket()
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
            client.connect(str(path))
    finally:
        other.close()
        path.unlink(missing_ok=True)
