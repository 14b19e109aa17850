"""A private Docker engine for tests, benchmarks and the demo: its own data root, exec root, API
socket and pidfile, run inside a network namespace (``nsenter --net``: ``ip netns exec`` would
remount /sys and hide the cgroup mounts, DESIGN.md facts), with no iptables rules and no default
bridge. Images come from Debian's busybox-static via ``docker import`` (no registry here).

containerd runs as a process of its own, as with the distribution's services: a dockerd that
spawned its own containerd cannot start again after a SIGKILL while that containerd lives on.
Only processes this object started are ever signalled, by pid.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import signal
import subprocess
import tarfile
import tempfile
import time
from pathlib import Path

import httpx

from ovnet.runtime.process import pid_alive, read_pid
from ovnet.tls import client_context

BUSYBOX = Path("/bin/busybox")  # Debian busybox-static: no shared libraries to copy
# The client of the same Debian package as dockerd: a newer client refuses options the 20.10
# engine's API (1.41) lacks (``--mac-address`` with ``--network`` needs 1.44 in client 28).
ENGINE_CLIENT = Path("/usr/bin/docker")


class DockerdError(Exception):
    """dockerd did not start or stop as asked; the message names its log."""


def busybox_rootfs_tar() -> bytes:
    """A tar of a root file system holding only static busybox and a symlink per applet."""
    applets = subprocess.run([str(BUSYBOX), "--list"], capture_output=True, text=True, check=True).stdout.split()
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as tar:
        for directory in ("bin", "tmp", "etc"):
            info = tarfile.TarInfo(directory)
            info.type, info.mode = tarfile.DIRTYPE, 0o1777 if directory == "tmp" else 0o755
            tar.addfile(info)
        tar.add(str(BUSYBOX), arcname="bin/busybox")
        for applet in applets:
            if applet != "busybox":
                link = tarfile.TarInfo(f"bin/{applet}")
                link.type, link.linkname = tarfile.SYMTYPE, "busybox"
                tar.addfile(link)
    return out.getvalue()


class PrivateDockerd:
    """One dockerd under ``root`` (kept short: containerd's socket path must fit 108 bytes).

    ``netns`` is the network namespace it runs in (a name under /run/netns, or None for ours).
    ``host`` is its ``unix://`` API address for ``docker -H``."""

    def __init__(self, root: Path | None = None, netns: str | None = None, live_restore: bool = False):
        self.root = Path(root or tempfile.mkdtemp(prefix="ovd-", dir="/tmp"))
        self.netns, self.live_restore = netns, live_restore
        self.sock, self.pidfile = self.root / "docker.sock", self.root / "docker.pid"
        self.log = self.root / "dockerd.log"
        self.exec_root = self.root / "x"
        self.host = f"unix://{self.sock}"
        self.client = str(ENGINE_CLIENT) if ENGINE_CLIENT.exists() else "docker"
        self.containerd_sock = self.exec_root / "ctd.sock"
        # containerd has no pidfile option; this one lets another process (``ovnet demo --clean``)
        # stop the containerd this object started
        self.containerd_pidfile = self.root / "containerd.pid"
        self._proc: subprocess.Popen | None = None
        self._containerd: subprocess.Popen | None = None

    def _start_containerd(self) -> None:
        if pid_alive(self._containerd.pid if self._containerd else None):
            return
        config = self.root / "containerd.toml"
        config.write_text('version = 2\ndisabled_plugins = ["io.containerd.grpc.v1.cri"]\n')
        argv = ["containerd", f"--config={config}", f"--root={self.root / 'ctd'}", f"--state={self.exec_root / 'ctd'}",
                f"--address={self.containerd_sock}"]
        if self.netns:
            argv = ["nsenter", f"--net=/run/netns/{self.netns}", *argv]
        with open(self.root / "containerd.log", "ab") as log:
            self._containerd = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                                start_new_session=True)
        self.containerd_pidfile.write_text(f"{self._containerd.pid}\n")
        deadline = time.monotonic() + 30
        while not self.containerd_sock.exists():
            if self._containerd.poll() is not None or time.monotonic() > deadline:
                raise DockerdError(f"containerd did not start; see {self.root / 'containerd.log'}")
            time.sleep(0.05)

    def pid(self) -> int | None:
        pid = read_pid(self.pidfile) or (self._proc.pid if self._proc else None)
        return pid if pid_alive(pid) else None

    def start(self, timeout: float = 60.0) -> None:
        """Start dockerd and wait until its API answers; raises DockerdError."""
        self.exec_root.mkdir(parents=True, exist_ok=True)
        self._start_containerd()
        config = self.root / "daemon.json"
        config.write_text(json.dumps({"live-restore": self.live_restore}))
        argv = ["dockerd", f"--config-file={config}", f"--data-root={self.root / 'data'}",
                f"--exec-root={self.exec_root}", f"--host={self.host}", f"--pidfile={self.pidfile}",
                f"--containerd={self.containerd_sock}",
                "--iptables=false", "--ip6tables=false", "--bridge=none"]
        if self.netns:
            argv = ["nsenter", f"--net=/run/netns/{self.netns}", *argv]
        with open(self.log, "ab") as log:
            self._proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                          start_new_session=True)
        deadline = time.monotonic() + timeout
        while not self.ping():
            if self._proc.poll() is not None or time.monotonic() > deadline:
                tail = self.log.read_text(errors="replace").strip().splitlines()[-5:]
                raise DockerdError(f"dockerd did not start: " + " | ".join(tail))
            time.sleep(0.1)

    def ping(self) -> bool:
        """True when the API socket answers GET /_ping."""
        try:
            with httpx.Client(transport=httpx.HTTPTransport(uds=str(self.sock), verify=client_context()),
                              timeout=2.0) as client:
                return client.get("http://docker/_ping").status_code == 200
        except httpx.HTTPError:
            return False

    def docker(self, *args: str, check: bool = True, timeout: float = 120.0) -> subprocess.CompletedProcess:
        """Run the docker CLI against this engine; raises CalledProcessError (with output) if ``check``."""
        return subprocess.run([self.client, "-H", self.host, *args], capture_output=True, text=True, timeout=timeout,
                              check=check)

    def import_busybox(self, tag: str = "bb:latest") -> None:
        """``docker import`` the busybox-static root file system as ``tag``."""
        subprocess.run([self.client, "-H", self.host, "import", "-", tag], input=busybox_rootfs_tar(),
                       capture_output=True, timeout=120, check=True)

    def kill(self) -> None:
        """SIGKILL dockerd (a crash); containerd and the containers live on, as after a real crash."""
        pid = self.pid()
        if pid:
            os.kill(pid, signal.SIGKILL)
            self._wait_gone(pid, 10.0)

    def stop(self, timeout: float = 30.0) -> None:
        """SIGTERM dockerd and wait for it (SIGKILL after ``timeout`` s)."""
        pid = self.pid()
        if pid:
            os.kill(pid, signal.SIGTERM)
            if not self._wait_gone(pid, timeout):
                os.kill(pid, signal.SIGKILL)
                self._wait_gone(pid, 10.0)

    def _wait_gone(self, pid: int, timeout: float) -> bool:
        """Wait until ``pid`` is gone, reaping it when it is our child: dockerd refuses to start
        while the pid of its pidfile still has a /proc entry, a zombie's included."""
        deadline = time.monotonic() + timeout
        while True:
            if self._proc is not None and self._proc.pid == pid:
                self._proc.poll()
            if not pid_alive(pid) and not Path(f"/proc/{pid}").exists():
                return True
            if not pid_alive(pid) and (self._proc is None or self._proc.pid != pid):
                return True  # a zombie of another parent: gone as far as we can tell
            if time.monotonic() > deadline:
                return False
            time.sleep(0.05)

    def _reap_leftovers(self) -> None:
        """Kill the containerd shims of this engine that outlived it (a dockerd that failed to
        start cannot remove its containers); they name this root on their command line."""
        mark = str(self.root).encode() + b"/"
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                cmdline = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if b"containerd-shim" in cmdline and mark in cmdline:
                try:
                    os.kill(int(entry.name), signal.SIGKILL)
                except ProcessLookupError:
                    pass

    def _stop_recorded_containerd(self) -> None:
        """SIGTERM (then SIGKILL) the containerd of the pidfile, if that pid still runs containerd
        with this root's socket (a reused pid is never signalled)."""
        pid = read_pid(self.containerd_pidfile)
        if not pid_alive(pid):
            return
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            return
        if b"containerd" not in cmdline or str(self.containerd_sock).encode() not in cmdline:
            return
        os.kill(pid, signal.SIGTERM)
        if not self._wait_gone(pid, 15.0):
            os.kill(pid, signal.SIGKILL)
            self._wait_gone(pid, 10.0)

    def destroy(self) -> None:
        """Remove every container, stop dockerd and its containerd, unmount what they left
        under the root and delete it. Safe to call in any state."""
        if self.pid():
            ids = self.docker("ps", "-aq", check=False, timeout=30).stdout.split()
            if ids:
                self.docker("rm", "-f", *ids, check=False, timeout=60)
        self.stop()
        if self._containerd is not None and pid_alive(self._containerd.pid):
            self._containerd.terminate()
            try:
                self._containerd.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self._containerd.kill()
                self._containerd.wait(timeout=10)
        elif self._containerd is None:
            self._stop_recorded_containerd()
        self._reap_leftovers()
        mounts = [line.split()[1] for line in Path("/proc/self/mounts").read_text().splitlines()]
        for mount in sorted((m for m in mounts if m.startswith(str(self.root) + "/")), reverse=True):
            subprocess.run(["umount", "-l", mount], capture_output=True, check=False)
        shutil.rmtree(self.root, ignore_errors=True)
