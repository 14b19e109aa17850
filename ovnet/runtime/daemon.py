"""A supervised service: how to start it, where its pidfile and log are, how to check its health."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from ovnet.runtime.process import RuntimeFailure, pid_alive, read_pid, remove_dead_socket, stop_pid, wait_until

Probe = Callable[[], "str | None"]  # None = healthy, else a one-line reason


@dataclass
class Service:
    """One process ovnet starts and stops.

    ``argv`` is the full command line; OVS/OVN daemons get ``--detach`` and write ``pidfile``
    themselves, ovnet's own Python services are spawned here in a new session and their pid is
    written to ``pidfile``. ``health`` returns None when healthy, else a reason. ``ports`` are the
    TCP ports it will listen on, as (port, what) pairs, checked before it starts. ``before`` runs
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
    sockets: list[Path] = field(default_factory=list)

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
                proc = subprocess.Popen(self.argv, env=self.env, stdin=subprocess.DEVNULL, stdout=log,
                                        stderr=subprocess.STDOUT, start_new_session=True)
            self.pidfile.write_text(f"{proc.pid}\n")
        self.wait_healthy()

    def wait_healthy(self) -> None:
        """Wait up to ``start_timeout`` s for health; raises RuntimeFailure naming the reason and log."""

        reason = wait_until(self.health, self.start_timeout,
                            give_up=lambda: "exited" if self.pid() is None else None)
        if reason is not None:
            raise RuntimeFailure(f"{self.name} is not healthy ({reason}); see {self.log}")

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
        self.pidfile.unlink(missing_ok=True)
        for path in self.sockets:
            remove_dead_socket(path)
        if self.after_stop:
            self.after_stop()
        return pid is not None

    def check(self) -> str | None:
        """None when running and healthy, else why not ("not running" or the probe's reason)."""
        if self.pid() is None:
            return "not running"
        try:
            return self.health()
        except Exception as exc:  # probes must never crash status
            return str(exc) or type(exc).__name__
