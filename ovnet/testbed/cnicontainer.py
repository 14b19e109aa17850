"""The demo's Podman workload: a private Podman 4.3 with the CNI backend (ovnet.testbed.podman) whose
one CNI network is an ovnet network installed with ovnet.host.cni.install, served by a hypervisor's
agent and acting with a project member's token (so the port is that project's, made by ovnet-cni),
and a busybox container at a fixed address serving the TCP echo with busybox nc, exactly as the
Docker workload does (ovnet.testbed.container.SERVE).

Probes from the container run in its network namespace, entered through its pid.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from ovnet.apiclient import write_private
from ovnet.host.cni import install as cni_install
from ovnet.runtime.process import RuntimeFailure, wait_until
from ovnet.testbed.container import LISTEN_TIMEOUT_S, MAX_ROOT_CHARS, SERVE, listening
from ovnet.testbed.initscript import ECHO_SCRIPT
from ovnet.testbed.podman import PodmanError, PrivatePodman
from ovnet.testbed.workload import ECHO_PORT

IMAGE = "localhost/ovnet-demo-busybox"
CNI_NETWORK = "ovnet-demo"


def engine_root(run_dir: Path, tag: str) -> Path:
    """Where the demo's Podman keeps its state: ``<run_dir>/podman`` when short enough for conmon's
    socket paths, else ``/tmp/ovnet-demo-podman-<tag>`` (``tag`` names the installation)."""
    root = run_dir / "podman"
    return root if len(str(root)) <= MAX_ROOT_CHARS else Path(f"/tmp/ovnet-demo-podman-{tag}")


def engine(root: Path) -> PrivatePodman:
    """The Podman under ``root``, its CNI config in ``root/net.d`` and the plugin in ``root/bin``."""
    return PrivatePodman(root / "net.d", [root / "bin"], root=root)


def start(root: Path, agent_socket: Path, network_id: str, token: str) -> PrivatePodman:
    """Install ovnet network ``network_id`` as CNI network ovnet-demo (the plugin asks the agent on
    ``agent_socket`` with ``token``, kept 0600 in ``root``) and import the busybox image."""
    root.mkdir(parents=True, exist_ok=True)
    token_file = root / "token"
    write_private(token_file, token + "\n")
    config = cni_install.conflist(CNI_NETWORK, network_id, None, agent_socket)
    config["plugins"][0]["token_file"] = str(token_file)
    cni_install.install(config, root / "net.d", [root / "bin"])
    podman = engine(root)
    try:
        podman.import_busybox(IMAGE)
    except PodmanError as exc:
        raise RuntimeFailure(f"the demo's podman could not import its image: {exc}") from None
    return podman


def run(podman: PrivatePodman, name: str, address: str) -> dict:
    """Run container ``name`` at ``address`` on ovnet-demo (CNI ADD makes and plugs its port) and
    wait until its echo service listens. Returns {"id", "pid"}. Raises RuntimeFailure."""
    try:
        cid = podman.podman("run", "-d", "--name", name, "--hostname", name, "--network", CNI_NETWORK, "--ip",
                            address, IMAGE, "sh", "-c", SERVE, "sh", name, ECHO_SCRIPT, str(ECHO_PORT)).stdout.strip()
    except PodmanError as exc:
        raise RuntimeFailure(f"podman container {name}: {exc}") from None
    pid = container_pid(podman, name)
    reason = wait_until(lambda: None if listening(pid, ECHO_PORT) else "not listening yet", LISTEN_TIMEOUT_S,
                        interval=0.02)
    if reason is not None:
        raise RuntimeFailure(f"podman container {name}: echo port {ECHO_PORT} {reason} after {LISTEN_TIMEOUT_S:g} s")
    return {"id": cid, "pid": pid}


def container_pid(podman: PrivatePodman, name: str) -> int:
    """The pid of running container ``name``; raises RuntimeFailure when it does not run."""
    done = podman.podman("inspect", name, check=False)
    pid = json.loads(done.stdout)[0]["State"]["Pid"] if done.returncode == 0 else 0
    if not pid:
        raise RuntimeFailure(f"podman container {name} is not running")
    return pid


def remove(root: Path) -> bool:
    """Remove the containers under ``root`` (their CNI DELs delete the ports) and ``root`` itself.
    Returns whether anything was there. Safe in any state; RuntimeFailure when podman hangs."""
    if not root.exists():
        return False
    try:
        engine(root).destroy()
    except subprocess.TimeoutExpired as exc:
        raise RuntimeFailure(f"podman under {root} did not remove its containers within {exc.timeout:.0f} s "
                             "(their CNI agent's host is gone?)") from None
    return True
