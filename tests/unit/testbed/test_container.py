"""The demo container's helpers that need no dockerd: where its engine lives, and how a listening
echo port is recognised in a process's network namespace."""

from __future__ import annotations

import os
import socket
from pathlib import Path

from ovnet.testbed import container


def test_engine_root_is_the_run_dir_when_short_else_a_tagged_tmp_dir():
    assert container.engine_root(Path("/var/lib/ovnet/demo"), "1a2b") == Path("/var/lib/ovnet/demo/docker")
    deep = Path("/tmp") / ("d" * 80) / "demo"
    assert container.engine_root(deep, "1a2b") == Path("/tmp/ovnet-demo-docker-1a2b")


def test_listening_sees_v4_and_v6_listeners_in_this_namespace_and_not_a_port_only_bound():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as v4, \
            socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as v6:
        v4.bind(("127.0.0.1", 0))
        v6.bind(("::1", 0))
        ports = [v4.getsockname()[1], v6.getsockname()[1]]
        assert not any(container.listening(os.getpid(), p) for p in ports)  # bound is not listening
        v4.listen()
        v6.listen()
        assert all(container.listening(os.getpid(), p) for p in ports)
    assert not container.listening(2**22 + 1, ports[0])  # no such process
