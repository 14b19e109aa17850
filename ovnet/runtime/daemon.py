"""A supervised service: how to start it, where its pidfile and log are, how to check its health."""

from __future__ import annotations

import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from ovnet.runtime.process import RuntimeFailure, pid_alive, read_pid, remove_dead_socket, stop_pid

Probe = Callable[[], "str | None"]  # None = healthy, else a one-line reason
LOG_TAIL_LINES = 8  # of a service's log, quoted when it dies while starting


class NotListening(Exception):
    """Raised by a health probe when nothing listens at the service's endpoint yet: a process that
    is alive and not listening is still starting (imports, migrations, a first reconcile, all slow
    on a loaded machine), which is not the same as answering unhealthy."""


@dataclass
class Service:
    """One process ovnet starts and stops.

    ``argv`` is the full command line; OVS/OVN daemons get ``--detach`` and write ``pidfile``
    themselves, ovnet's own Python services are spawned here in a new session and their pid is
    written to ``pidfile``. ``health`` returns None when healthy, else a reason. ``ports`` are the
    TCP ports it will listen on, as (port, what) pairs, checked before it starts. Starting waits
    ``start_timeout`` seconds for health, or up to ``start_limit`` seconds while the process is alive
    and its probe says nothing listens yet (NotListening; 0: no longer than ``start_timeout``). ``before`` runs
    just before the first start (create a DB file, configure OVS), ``before_stop`` just before the
    process is signalled (a graceful exit such as ``ovn-appctl exit``), ``after_stop`` once it is
    gone, running or not (delete what the process leaves behind). ``sockets`` are the unix
    socket files the process serves; ``stop()`` removes those nobody answers on any more.
    """

    name: str
    argv: list[str]
    pidfile: Path
    log: Path
    endpoint: str
    health: Probe
    detaches: bool = True
    env: dict[str, str] | None = None
    ports: list[tuple[int, str]] = field(default_factory=list)
    before: Callable[[], None] | None = None
    before_stop: Callable[[int], None] | None = None
    after_stop: Callable[[], object] | None = None
    start_timeout: float = 30.0
    start_limit: float = 0.0
    sockets: list[Path] = field(default_factory=list)
    # The process this object spawned (not a detaching daemon): waited for once it is stopped or
    # dies, so that it is reaped and its Popen not dropped while running (a ResourceWarning). A
    # command that starts it and exits leaves it running, as it must.
    _child: subprocess.Popen | None = field(default=None, init=False, repr=False, compare=False)

    def pid(self) -> int | None:
        """The pid from the pidfile if that process is alive, else None."""
        pid = read_pid(self.pidfile)
        return pid if pid_alive(pid) else None

    def start(self) -> None:
        """Start the process and wait until it is healthy; raises RuntimeFailure otherwise."""
        self.pidfile.parent.mkdir(parents=True, exist_ok=True)
        self.log.parent.mkdir(parents=True, exist_ok=True)
        if self.before:
            self.before()
        if self.detaches:
            # OVS daemons with --detach return once initialised; a failure is in their log.
            with open(self.log, "ab") as log:
                done = subprocess.run(self.argv, env=self.env, stdin=subprocess.DEVNULL, stdout=log,
                                      stderr=log, timeout=self.start_timeout, check=False)
            if done.returncode != 0:
                raise RuntimeFailure(f"{self.name} failed to start (exit {done.returncode}); see {self.log}")
        else:
            with open(self.log, "ab") as log:
                self._child = subprocess.Popen(self.argv, env=self.env, stdin=subprocess.DEVNULL, stdout=log,
                                               stderr=subprocess.STDOUT, start_new_session=True)
            self.pidfile.write_text(f"{self._child.pid}\n")
        self.wait_healthy()

    def wait_healthy(self) -> None:
        """Wait until the service is healthy, following its process: dead, it fails at once with the
        last lines of its log; alive but not listening yet, it is still starting and is waited for
        up to ``start_limit`` s; listening but unhealthy, up to ``start_timeout`` s. Raises
        RuntimeFailure naming the reason and the log."""
        started, delay = time.monotonic(), 0.05
        while True:
            if self.pid() is None:
                self._forget_child()
                raise RuntimeFailure(f"{self.name} exited while starting; {self._log_tail()}")
            reason, listening = self._probe()
            if reason is None:
                return
            waited = time.monotonic() - started
            if waited >= (self.start_timeout if listening else max(self.start_limit, self.start_timeout)):
                raise RuntimeFailure(f"{self.name} is not healthy after {waited:.0f} s ({reason}); see {self.log}")
            time.sleep(delay)
            delay = min(delay * 1.5, 0.5)

    def _probe(self) -> tuple[str | None, bool]:
        """(the health probe's reason or None, whether anything listens)."""
        try:
            return self.health(), True
        except NotListening as exc:
            return f"not listening yet: {exc}", False
        except Exception as exc:  # a probe failing is a reason to keep waiting, not a crash
            return str(exc) or type(exc).__name__, True

    def _log_tail(self) -> str:
        try:
            lines = [line for line in self.log.read_text(errors="replace").splitlines() if line.strip()]
        except FileNotFoundError:
            lines = []
        if not lines:
            return f"its log {self.log} is empty"
        return f"the last lines of {self.log}:\n" + "\n".join(f"    {line}" for line in lines[-LOG_TAIL_LINES:])

    def stop(self) -> bool:
        """Stop the process by its pidfile's pid; remove the pidfile and the socket files a killed
        process left (a live one of another process stays). True if something was running."""
        pid = self.pid()
        if pid is not None:
            if self.before_stop:
                try:
                    self.before_stop(pid)
                except RuntimeFailure:
                    pass  # a graceful exit is a courtesy; the signal below is the guarantee
            stop_pid(pid)
        self._forget_child()
        self.pidfile.unlink(missing_ok=True)
        for path in self.sockets:
            remove_dead_socket(path)
        if self.after_stop:
            self.after_stop()
        return pid is not None

    def _forget_child(self) -> None:
        # Called once the process is gone: wait() returns at once (stop_pid may have reaped it
        # already, which Popen takes as an exit status of 0).
        if self._child is not None:
            self._child.wait(timeout=5.0)
            self._child = None

    def check(self) -> str | None:
        """None when running and healthy, else why not ("not running" or the probe's reason)."""
        if self.pid() is None:
            return "not running"
        try:
            return self.health()
        except Exception as exc:  # probes must never crash status
            return str(exc) or type(exc).__name__
