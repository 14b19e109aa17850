"""remove_dead_socket: a socket file nobody listens on goes, a live one or a non-socket stays."""

from __future__ import annotations

import socket
import subprocess
import sys

from ovnet.runtime.process import remove_dead_socket


def _listener(path) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.bind(str(path))
    sock.listen(1)
    return sock


def test_socket_of_a_killed_process_is_removed(tmp_path):
    path = tmp_path / "plugin.sock"
    # A real process binds and listens, then dies by SIGKILL: its socket file stays behind.
    with subprocess.Popen([sys.executable, "-c", (
            "import socket, sys, time\n"
            "s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.listen(1)\n"
            "print('ready', flush=True); time.sleep(60)\n"), str(path)], stdout=subprocess.PIPE, text=True) as child:
        try:
            assert child.stdout.readline().strip() == "ready"
            assert remove_dead_socket(path) is False and path.exists()  # alive: kept
        finally:
            child.kill()  # leaving the with block closes its stdout pipe and waits for it
    assert path.exists()
    assert remove_dead_socket(path) is True
    assert not path.exists()
    assert remove_dead_socket(path) is False  # already gone


def test_live_socket_stays(tmp_path):
    path = tmp_path / "live.sock"
    with _listener(path):
        assert remove_dead_socket(path) is False
        assert path.exists()
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
            client.connect(str(path))  # still served


def test_closed_listener_is_removed_but_a_regular_file_is_not(tmp_path):
    path = tmp_path / "dead.sock"
    _listener(path).close()
    assert remove_dead_socket(path) is True and not path.exists()
    plain = tmp_path / "not-a-socket.sock"
    plain.write_text("x")
    assert remove_dead_socket(plain) is False and plain.read_text() == "x"
