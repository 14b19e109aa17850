"""A private Podman 4.3 with the CNI backend, for tests, the bench and the demo.

Nothing of the machine's own configuration is touched (cni.md B.1): a containers.conf of its own
(``CONTAINERS_CONF``) selects ``network_backend = "cni"``, the CNI config dir and plugin dirs given
here, cgroupfs (PID 1 is not systemd), file events and ulimits the sandbox allows; storage
(``--root``, ``--runroot``, vfs) lives under ``root``. Images come from Debian's busybox-static
(``podman import``, no registry).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from ovnet.testbed.dockerd import busybox_rootfs_tar

CONTAINERS_CONF = """\
[containers]
cgroupns = "host"
default_ulimits = ["nofile=20000:20000", "nproc=4096:4096"]
[network]
network_backend = "cni"
cni_plugin_dirs = [{plugin_dirs}]
network_config_dir = "{conf_dir}"
default_network = "ovnet-unused-default"
default_subnet = "10.254.250.0/24"
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "{root}/events.log"
tmp_dir = "{root}/tmp"
runtime = "runc"
"""


class PodmanError(RuntimeError):
    """A podman command failed; the message holds its stderr."""


class PrivatePodman:
    """Podman state under ``root`` (a temporary dir when None) reading CNI networks from
    ``conf_dir`` and plugins from ``plugin_dirs``."""

    def __init__(self, conf_dir: Path, plugin_dirs: list[Path], root: Path | None = None):
        self.root = Path(root or tempfile.mkdtemp(prefix="ovp-", dir="/tmp"))
        self.conf_dir, self.plugin_dirs = Path(conf_dir), [Path(d) for d in plugin_dirs]
        self.config = self.root / "containers.conf"
        (self.root / "tmp").mkdir(parents=True, exist_ok=True)
        self.conf_dir.mkdir(parents=True, exist_ok=True)
        dirs = ", ".join(f'"{d}"' for d in self.plugin_dirs)
        self.config.write_text(CONTAINERS_CONF.format(plugin_dirs=dirs, conf_dir=self.conf_dir, root=self.root))
        self.env = {**os.environ, "CONTAINERS_CONF": str(self.config)}
        self._netns_before = set(_podman_netns())

    def argv(self, *args: str) -> list[str]:
        """The podman command line for ``args`` with this instance's storage."""
        return ["podman", "--root", str(self.root / "storage"), "--runroot", str(self.root / "run"),
                "--storage-driver", "vfs", "--cni-config-dir", str(self.conf_dir), *args]

    def podman(self, *args: str, check: bool = True, timeout: float = 120.0) -> subprocess.CompletedProcess:
        """Run podman; with ``check`` a non-zero exit raises PodmanError with its stderr."""
        done = subprocess.run(self.argv(*args), env=self.env, capture_output=True, text=True, timeout=timeout)
        if check and done.returncode != 0:
            raise PodmanError(f"podman {' '.join(args)} exited {done.returncode}: {done.stderr.strip()}")
        return done

    def network_backend(self) -> str:
        """What ``podman info`` says the network backend is ("cni" here)."""
        return self.podman("info", "--format", "{{.Host.NetworkBackend}}").stdout.strip()

    def import_busybox(self, image: str = "localhost/bb") -> None:
        """``podman import`` the busybox-static root file system as ``image``."""
        done = subprocess.run(self.argv("import", "-", image), env=self.env, input=busybox_rootfs_tar(),
                              capture_output=True, timeout=120)
        if done.returncode != 0:
            raise PodmanError(f"podman import failed: {done.stderr.decode().strip()}")

    def destroy(self) -> None:
        """Remove every pod and container (their CNI DELs run), then the storage. Safe in any state."""
        self.podman("pod", "rm", "-af", "-t", "0", check=False, timeout=120)
        self.podman("rm", "-af", "-t", "0", check=False, timeout=120)
        mounts = [line.split()[1] for line in Path("/proc/self/mounts").read_text().splitlines()]
        for mount in sorted((m for m in mounts if m.startswith(str(self.root) + "/")), reverse=True):
            subprocess.run(["umount", "-l", mount], capture_output=True, check=False)
        shutil.rmtree(self.root, ignore_errors=True)
        # Podman 4.3 names its sandboxes /run/netns/netns-<uuid> and leaves one behind when a
        # container's clean-up fails half-way (seen after a netns was removed behind its back
        # and on kills); remove those this instance's lifetime made that no process uses.
        for name in set(_podman_netns()) - self._netns_before:
            if not subprocess.run(["ip", "netns", "pids", name], capture_output=True, text=True).stdout.strip():
                subprocess.run(["ip", "netns", "delete", name], capture_output=True, check=False)


def _podman_netns() -> list[str]:
    """The names under /run/netns that Podman gives its sandboxes (``netns-<uuid>``)."""
    run_netns = Path("/run/netns")
    return [p.name for p in run_netns.iterdir() if p.name.startswith("netns-")] if run_netns.is_dir() else []
