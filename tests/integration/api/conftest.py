"""A real ovnet-server process (``python -m ovnet.server``) on a free loopback port, stopped by pid.

``endpoint`` is what the acceptance tests drive. It runs the server without the OVN syncer
(``--no-sync``) and its ``nb_check`` is None. To check NB rows after each step, add a fixture
variant that starts the whole all-in-one (the ``allinone`` fixture of tests/conftest.py) and
sets ``nb_check(kind, resource_id, shown)`` — ``shown`` is the resource as the API shows it, or
None after a delete — to a function that looks the rows up in NB and asserts.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from ovnet.config import Settings, load_settings
from ovnet.runtime.process import free_port

START_TIMEOUT_S = 30.0


@dataclass
class Endpoint:
    """A running API: its settings, the admin token and clouds.yaml, and the optional NB check."""

    settings: Settings
    token: str
    clouds_yaml: Path
    nb_check: Callable[[str, str, dict | None], None] | None = None

    def after(self, kind: str, resource_id: str, shown: dict | None) -> None:
        """Hook run after each acceptance step ("network" | "subnet" | "port")."""
        if self.nb_check is not None:
            self.nb_check(kind, resource_id, shown)


class ServerProcess:
    """``python -m ovnet.server --state-dir D [--no-sync]`` with OVNET_API_PORT set; log in D/server.log."""

    def __init__(self, state_dir: Path, port: int, no_sync: bool = True):
        self.state_dir, self.port, self.no_sync = state_dir, port, no_sync
        self.proc: subprocess.Popen | None = None

    def start(self) -> Settings:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "OVNET_API_PORT": str(self.port)}
        env.pop("OVNET_SQL_URL", None)
        argv = [sys.executable, "-m", "ovnet.server", "--state-dir", str(self.state_dir)]
        with open(self.state_dir / "server.log", "ab") as log:
            self.proc = subprocess.Popen(argv + (["--no-sync"] if self.no_sync else []), env=env,
                                         stdout=log, stderr=subprocess.STDOUT)
        settings = load_settings(self.state_dir, api_port=self.port)
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"ovnet-server exited: {(self.state_dir / 'server.log').read_text()[-3000:]}")
            try:
                if httpx.get(f"{settings.api_url}/healthz", timeout=1).status_code == 200:
                    return settings
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("ovnet-server did not become healthy")
            time.sleep(0.1)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@pytest.fixture
def server_process(tmp_path):
    """A started ServerProcess in tmp_path/state; yields (process, settings)."""
    server = ServerProcess(tmp_path / "state", free_port())
    try:
        yield server, server.start()
    finally:
        server.stop()


@pytest.fixture
def endpoint(server_process) -> Endpoint:
    _, settings = server_process
    token = (settings.state_dir / "admin-token").read_text().strip()
    return Endpoint(settings, token, settings.state_dir / "clouds.yaml")
