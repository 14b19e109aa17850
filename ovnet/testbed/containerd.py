"""A private containerd 1.6 driven by ``ctr``, for tests of ``ctr run --cni``.

containerd runs with its own root, state and socket (the CRI plugin off). ``ctr run --cni`` reads
the first conflist of the hard-coded /etc/cni/net.d and its plugins from /opt/cni/bin and
/usr/lib/cni (cni.md B.3 item 3), so each such ``ctr`` runs in a private mount namespace where the
given config and plugin dirs are bind-mounted over those paths; the machine's are never touched.
"""

from __future__ import annotations

import shlex
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from ovnet.runtime.process import pid_alive

NAMESPACE = "ovnet"


class ContainerdError(RuntimeError):
    """containerd did not start, or a ctr command failed (the message holds its stderr)."""


class PrivateContainerd:
    """containerd under ``root`` (short by default: its socket path must fit 108 bytes)."""

    def __init__(self, root: Path | None = None):
        self.root = Path(root or tempfile.mkdtemp(prefix="ovc-", dir="/tmp"))
        self.sock = self.root / "containerd.sock"
        self._proc: subprocess.Popen | None = None

    def start(self, timeout: float = 30.0) -> None:
        """Start containerd and wait for its socket. Raises ContainerdError."""
        config = self.root / "containerd.toml"
        config.write_text('version = 2\ndisabled_plugins = ["io.containerd.grpc.v1.cri"]\n')
        argv = ["containerd", f"--config={config}", f"--root={self.root / 'root'}", f"--state={self.root / 'state'}",
                f"--address={self.sock}"]
        with open(self.root / "containerd.log", "ab") as log:
            self._proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                          start_new_session=True)
        deadline = time.monotonic() + timeout
        while not self.sock.exists():
            if self._proc.poll() is not None or time.monotonic() > deadline:
                raise ContainerdError(f"containerd did not start; see {self.root / 'containerd.log'}")
            time.sleep(0.05)

    def ctr(self, *args: str, check: bool = True, timeout: float = 120.0, cni_conf_dir: Path | None = None,
            cni_bin_dir: Path | None = None) -> subprocess.CompletedProcess:
        """Run ``ctr -a SOCK -n ovnet ARGS``; with ``cni_conf_dir``/``cni_bin_dir`` in a private mount
        namespace where they replace /etc/cni/net.d and /usr/lib/cni."""
        argv = ["ctr", "-a", str(self.sock), "-n", NAMESPACE, *args]
        if cni_conf_dir or cni_bin_dir:
            binds = []
            if cni_conf_dir:
                binds.append(f"mount --bind {shlex.quote(str(cni_conf_dir))} /etc/cni/net.d")
            if cni_bin_dir:
                binds.append(f"mount --bind {shlex.quote(str(cni_bin_dir))} /usr/lib/cni")
            script = " && ".join([*binds, "exec " + shlex.join(argv)])
            argv = ["unshare", "--mount", "--propagation", "private", "sh", "-c", script]
        done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
        if check and done.returncode != 0:
            raise ContainerdError(f"ctr {' '.join(args)} exited {done.returncode}: {done.stderr.strip()}")
        return done

    def import_image(self, archive: Path, name: str) -> None:
        """``ctr images import`` a docker-archive tar as ``name`` (native snapshotter: no overlay needed)."""
        self.ctr("images", "import", "--snapshotter", "native", "--base-name", name, str(archive))

    def destroy(self) -> None:
        """Kill every task, remove the containers, stop containerd and delete the root. Safe in any state."""
        if self._proc is not None and pid_alive(self._proc.pid):
            for line in self.ctr("task", "ls", "-q", check=False, timeout=30).stdout.split():
                self.ctr("task", "kill", "-s", "SIGKILL", line, check=False, timeout=30)
                self.ctr("task", "delete", "-f", line, check=False, timeout=30)
            for line in self.ctr("containers", "ls", "-q", check=False, timeout=30).stdout.split():
                self.ctr("containers", "rm", line, check=False, timeout=30)
            self._proc.terminate()
            try:
                self._proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait(timeout=10)
        mounts = [line.split()[1] for line in Path("/proc/self/mounts").read_text().splitlines()]
        for mount in sorted((m for m in mounts if m.startswith(str(self.root) + "/")), reverse=True):
            subprocess.run(["umount", "-l", mount], capture_output=True, check=False)
        shutil.rmtree(self.root, ignore_errors=True)
