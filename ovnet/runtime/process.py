"""Process primitives for the runtime: run a command, read pidfiles, stop a pid, probe a port.

Daemons are always stopped by the pid in their pidfile, never by name, so that a system Open vSwitch
or another ovnet installation on the same machine is left alone.
"""

from __future__ import annotations

import errno
import os
import secrets
import signal
import socket
import stat
import subprocess
import time
from pathlib import Path


class RuntimeFailure(Exception):
    """A daemon could not be started, configured or checked; the message is one line naming the fix."""


def run(argv: list[str], *, env: dict[str, str] | None = None, timeout: float = 10.0) -> str:
    """Run ``argv`` and return its stdout. Raises RuntimeFailure with the command's stderr if it fails."""
    try:
        done = subprocess.run(
            argv, env=env, capture_output=True, text=True, timeout=timeout, check=False, stdin=subprocess.DEVNULL
        )
    except subprocess.TimeoutExpired as exc:
        raise RuntimeFailure(f"{argv[0]} did not finish within {timeout:g} s") from exc
    if done.returncode != 0:
        detail = (done.stderr or done.stdout).strip().splitlines()
        raise RuntimeFailure(f"{' '.join(argv[:2])} failed: {detail[-1] if detail else f'exit {done.returncode}'}")
    return done.stdout


def read_pid(pidfile: Path) -> int | None:
    """The pid written in ``pidfile``, or None when the file is missing or empty."""
    try:
        text = pidfile.read_text().strip()
    except FileNotFoundError:
        return None
    return int(text) if text.isdigit() else None


def _task_state(stat_path: Path) -> str | None:
    """The state letter of /proc/PID[/task/TID]/stat (R, S, D, Z, ...); None when it is gone."""
    try:
        return stat_path.read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):  # gone before or while it was read (ESRCH)
        return None


def pid_alive(pid: int | None) -> bool:
    """True when ``pid`` names a running process. A zombie counts as dead once every thread of it
    has exited: a multi-threaded process's leader shows Z as soon as it exits, while its other
    threads are still exiting and still hold the process's files (a listening socket accepts)."""
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    proc = Path(f"/proc/{pid}")
    state = _task_state(proc / "stat")
    if state != "Z":
        return state is not None
    try:
        tasks = list((proc / "task").iterdir())
    except (FileNotFoundError, ProcessLookupError):
        return False
    return any(_task_state(task / "stat") not in (None, "Z", "X") for task in tasks)


def stop_pid(pid: int, timeout: float = 5.0) -> None:
    """SIGTERM ``pid``, wait up to ``timeout`` seconds, then SIGKILL it. A pid already gone is fine."""
    for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 2.0)):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            return
        _reap(pid)
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if not pid_alive(pid):
                _reap(pid)
                return
            time.sleep(0.02)
    raise RuntimeFailure(f"process {pid} survived SIGKILL")


def _reap(pid: int) -> None:
    # Our own children (ovnet's Python services) become zombies until waited for.
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass


def port_in_use(host: str, port: int) -> bool:
    """True when a TCP listener already holds ``host:port``."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # Without SO_REUSEADDR, connections of a stopped server still in TIME-WAIT would count as
        # "in use" for a minute; the daemons themselves bind with it, so only a listener matters.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return True
            raise
    return False


def remove_dead_socket(path: Path) -> bool:
    """Remove the unix socket file ``path`` if no process listens on it any more (a SIGKILLed server
    leaves its socket file behind); True when removed. A socket that accepts a connection, or whose
    probe does not end in ECONNREFUSED within 1 s (a busy listener), stays, and so does anything that
    is not a socket: another installation's live socket is never taken away."""
    try:
        before = path.lstat()
    except FileNotFoundError:
        return False
    if not stat.S_ISSOCK(before.st_mode):
        return False
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        probe.settimeout(1.0)
        try:
            probe.connect(str(path))
            return False
        except ConnectionRefusedError:
            pass
        except OSError:
            return False
    try:
        after = path.lstat()
    except FileNotFoundError:
        return False
    # A server that replaced the file since the probe owns a new inode: leave it.
    if (after.st_dev, after.st_ino) != (before.st_dev, before.st_ino):
        return False
    path.unlink(missing_ok=True)
    return True


# free_port picks from [FREE_PORT_FLOOR, start of the kernel's ephemeral range): bind(0) picks inside
# that range, where every outgoing connection also takes its local port, so one made between the
# pick and the caller's server binding it (a busy test suite makes thousands) broke the bind.
FREE_PORT_FLOOR = 20000
EPHEMERAL_RANGE = Path("/proc/sys/net/ipv4/ip_local_port_range")
FREE_PORT_TRIES = 100


def _ephemeral_start() -> int:
    try:
        return int(EPHEMERAL_RANGE.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768  # Linux's default (ip-sysctl.rst, ip_local_port_range)


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port number on ``host`` that nothing is bound to right now, for a private instance to
    listen on. Picked at random below the kernel's ephemeral port range (net.ipv4.
    ip_local_port_range, ip-sysctl.rst), which outgoing connections draw from; when that range
    leaves no room below it, the kernel's own pick (bind to port 0). Raises RuntimeFailure when
    FREE_PORT_TRIES random ports are all taken."""
    ceiling = _ephemeral_start()
    for _ in range(FREE_PORT_TRIES):
        port = FREE_PORT_FLOOR + secrets.randbelow(ceiling - FREE_PORT_FLOOR) if ceiling > FREE_PORT_FLOOR else 0
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind((host, port))
            except OSError:  # bound by another socket, listening or not
                continue
            return sock.getsockname()[1]
    raise RuntimeFailure(f"no free TCP port on {host} among {FREE_PORT_TRIES} tried below {ceiling}")


def wait_until(check, timeout: float, interval: float = 0.05, give_up=None):
    """Call ``check()`` until it returns None (healthy) or ``timeout`` seconds pass.

    ``check`` returns None when satisfied, else a reason string. Returns the last reason (None on
    success); exceptions from ``check`` count as a reason. ``give_up()``, when given, is asked first
    each round: a reason from it ends the wait at once (e.g. the process died, waiting is pointless).
    """
    deadline = time.monotonic() + timeout
    delay = interval
    while True:
        if give_up is not None and (fatal := give_up()) is not None:
            return fatal
        try:
            reason = check()
        except Exception as exc:  # a probe failing is a reason to keep waiting, not a crash
            reason = str(exc) or type(exc).__name__
        if reason is None or time.monotonic() >= deadline:
            return reason
        time.sleep(delay)
        delay = min(delay * 1.5, 0.5)
