"""Start and stop a real ovnet-server process for tests and benchmarks, by pid."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

from ovnet.config import Settings, load_settings
from ovnet.tls import client_context

# A ceiling for a loaded machine (imports and migrations can take tens of seconds); the wait
# ends at once when the process exits.
START_TIMEOUT_S = 120.0


class ServerProcess:
    """``python -m ovnet.server --state-dir D [--no-sync]`` with OVNET_API_PORT set; log in D/server.log.
    The store is D's SQLite, or ``sql_url`` (OVNET_SQL_URL) when given."""

    def __init__(self, state_dir: Path, port: int, no_sync: bool = True, sql_url: str | None = None):
        self.state_dir, self.port, self.no_sync, self.sql_url = state_dir, port, no_sync, sql_url
        self.proc: subprocess.Popen | None = None

    def start(self) -> Settings:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        load_settings(self.state_dir, api_port=self.port).save()  # so `ovnet ... --state-dir` finds it
        env = {**os.environ, "OVNET_API_PORT": str(self.port)}
        env.pop("OVNET_SQL_URL", None)
        if self.sql_url:
            env["OVNET_SQL_URL"] = self.sql_url
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
                if httpx.get(f"{settings.api_url}/healthz", timeout=1, verify=client_context()).status_code == 200:
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
