"""Serve the plugin app on a unix socket where dockerd discovers plugins.

dockerd looks for ``/run/docker/plugins/<name>.sock`` whatever its ``--exec-root``
(libnetwork.md A.2), so the name, not the directory, keeps two ovnet installations (or two tests)
apart. A stale socket file left by a killed agent is replaced; a socket somebody still answers on
is refused, never stolen. uvicorn runs in a thread of the agent process.
"""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

import uvicorn

from ovnet.config import DOCKER_PLUGINS_DIR

PLUGINS_DIR = DOCKER_PLUGINS_DIR


class SocketInUse(Exception):
    """Another live process serves the plugin socket."""


def plugin_socket(name: str, plugins_dir: Path = PLUGINS_DIR) -> Path:
    """``<plugins_dir>/<name>.sock``; raises ValueError for a name dockerd could not look up."""
    if not name or "/" in name or ":" in name or name.startswith("."):
        raise ValueError(f"invalid Docker plugin name {name!r}")
    return plugins_dir / f"{name}.sock"


def _answers(path: Path) -> bool:
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    probe.settimeout(1.0)
    try:
        probe.connect(str(path))
        return True
    except OSError:
        return False
    finally:
        probe.close()


def bind_unix(path: Path, mode: int = 0o660) -> socket.socket:
    """A listening unix socket at ``path`` (parent created), replacing a dead leftover. Raises
    SocketInUse when a process still accepts connections there."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists() or path.is_symlink():
        if _answers(path):
            raise SocketInUse(f"{path} is served by another process; pick another plugin name")
        path.unlink()
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.bind(str(path))
        path.chmod(mode)
        sock.listen(128)
    except BaseException:
        sock.close()
        raise
    return sock


class PluginServer:
    """uvicorn serving ``app`` on the unix socket ``path`` in a daemon thread.

    ``start()`` returns once the socket accepts requests (raises SocketInUse or RuntimeError);
    ``stop()`` shuts uvicorn down and removes the socket file (only if it is still ours)."""

    def __init__(self, app, path: Path):
        self.app = app
        self.path = path
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._inode: int | None = None

    def start(self, timeout: float = 10.0) -> None:
        sock = bind_unix(self.path)
        self._inode = self.path.stat().st_ino
        config = uvicorn.Config(self.app, log_level="warning", lifespan="off", access_log=False,
                                timeout_graceful_shutdown=2)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [sock]},
                                        name=f"docker-plugin {self.path.name}", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the Docker plugin server on {self.path} did not start")
            time.sleep(0.01)

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        try:
            if self._inode is not None and self.path.stat().st_ino == self._inode:
                self.path.unlink()
        except FileNotFoundError:
            pass
        self._server = self._thread = None
