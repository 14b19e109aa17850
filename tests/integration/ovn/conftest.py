"""A private OVN NB ovsdb-server (real, Debian's OVN schema) for the NB client and syncer tests."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest

from ovnet.runtime.process import free_port, stop_pid

NB_SCHEMA = "/usr/share/ovn/ovn-nb.ovsschema"


class NbServer:
    """One ovsdb-server serving OVN_Northbound on 127.0.0.1:<port>; stop()/start() keep the data."""

    def __init__(self, workdir: Path):
        self.dir = workdir
        self.db = workdir / "nb.db"
        self.sock = workdir / "nb.sock"
        self.port = free_port()
        self.url = f"tcp:127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None
        subprocess.run(["ovsdb-tool", "create", str(self.db), NB_SCHEMA], check=True)

    def start(self) -> None:
        log = open(self.dir / "nb.log", "ab")  # noqa: SIM115 - handed to the child
        self.proc = subprocess.Popen(
            ["ovsdb-server", str(self.db), f"--remote=ptcp:{self.port}:127.0.0.1",
             f"--remote=punix:{self.sock}", f"--unixctl={self.dir / 'nb.ctl'}", "--no-chdir"],
            stdout=log, stderr=log, stdin=subprocess.DEVNULL)
        log.close()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"ovsdb-server exited: {(self.dir / 'nb.log').read_text()[-500:]}")
            if self.nbctl_ok():
                return
            time.sleep(0.05)
        raise RuntimeError("ovsdb-server did not answer within 10 s")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            stop_pid(self.proc.pid)
            self.proc.wait()
        self.proc = None

    def nbctl_ok(self) -> bool:
        if not self.sock.exists():
            return False
        return subprocess.run(["ovn-nbctl", f"--db=unix:{self.sock}", "--no-leader-only", "show"],
                              capture_output=True).returncode == 0

    def nbctl(self, *args: str) -> str:
        """Run ovn-nbctl against this server (the way an operator edits NB by hand)."""
        done = subprocess.run(["ovn-nbctl", f"--db=unix:{self.sock}", "--no-leader-only", *args],
                              capture_output=True, text=True, check=True)
        return done.stdout.strip()


@pytest.fixture
def nb_server(tmp_path):
    """A running private NB ovsdb-server; always stopped at teardown."""
    server = NbServer(tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()
