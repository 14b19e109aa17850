"""The demo's Docker workload: a private dockerd (ovnet.testbed.dockerd) in the network namespace
of the hypervisor's ovs-vswitchd (the plugin leaves the endpoint's veth there for dockerd to move),
a Docker network of that hypervisor's ovnet plugin adopting an ovnet network the demo made, and a
busybox container at a fixed address serving the TCP echo of ovnet.testbed.echo with busybox nc,
as the test VMs do (ovnet.testbed.initscript.ECHO_SCRIPT).

Probes from the container run in its network namespace, entered through its pid
(``/proc/PID/ns/net``), with the same prober as the namespace workloads.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from ovnet.runtime.process import RuntimeFailure, wait_until
from ovnet.testbed.dockerd import DockerdError, PrivateDockerd
from ovnet.testbed.initscript import ECHO_SCRIPT
from ovnet.testbed.workload import ECHO_PORT

IMAGE = "ovnet-demo-busybox:latest"
LISTEN_TIMEOUT_S = 10.0
MAX_ROOT_CHARS = 60  # containerd's socket under the root must fit a unix socket path (108 bytes)
TCP_LISTEN = "0A"  # /proc/net/tcp state of a listening socket

# The container's command: write the echo script and the name it answers, then serve the echo
# port with busybox nc (one ECHO_SCRIPT per connection). $1 = name, $2 = script, $3 = port.
SERVE = ('printf "%s" "$2" > /etc/echo.sh && chmod 755 /etc/echo.sh && echo "$1" > /etc/name '
         '&& exec nc -ll -p "$3" -e /etc/echo.sh')


def engine_root(run_dir: Path, tag: str) -> Path:
    """Where the demo's dockerd keeps its state: ``<run_dir>/docker`` when that path is short
    enough for containerd's socket, else ``/tmp/ovnet-demo-docker-<tag>`` (``tag`` names the
    installation, so two never share it)."""
    root = run_dir / "docker"
    return root if len(str(root)) <= MAX_ROOT_CHARS else Path(f"/tmp/ovnet-demo-docker-{tag}")


def start_engine(root: Path, netns: str | None) -> PrivateDockerd:
    """Start dockerd under ``root`` inside network namespace ``netns`` (None: ours) and import the
    busybox image; raises RuntimeFailure naming dockerd's log."""
    engine = PrivateDockerd(root, netns=netns)
    try:
        engine.start()
        engine.import_busybox(IMAGE)
    except (DockerdError, subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
        raise RuntimeFailure(f"the demo's dockerd did not start: {exc}") from None
    return engine


def _docker(engine: PrivateDockerd, *args: str) -> str:
    done = engine.docker(*args, check=False)
    if done.returncode != 0:
        raise RuntimeFailure(f"docker {' '.join(args[:2])} failed: {done.stderr.strip()}")
    return done.stdout.strip()


def run(engine: PrivateDockerd, name: str, plugin: str, network_id: str, project: str, subnet: str,
        address: str) -> dict:
    """Run container ``name`` (hostname too) at ``address`` on a Docker network named like it
    that adopts ovnet network ``network_id`` of ``project`` through plugin ``plugin`` with its
    subnet ``subnet`` (a CIDR: Docker takes ``--ip`` only on a network given a subnet), and wait
    until its echo service listens. Returns {"id", "pid", "endpoint", "network"} (the endpoint id
    is the device_id of the ovnet port the plugin made; network the Docker network's id). Raises
    RuntimeFailure."""
    network = f"{name}-net"
    docker_network = _docker(engine, "network", "create", "-d", plugin, "--ipam-driver", plugin,
            "--ipam-opt", f"ovnet.network={network_id}", "--ipam-opt", f"ovnet.project={project}",
            "-o", f"ovnet.project={project}", "--subnet", subnet, network)
    container = _docker(engine, "run", "-d", "--name", name, "--hostname", name, "--network", network,
                        "--ip", address, IMAGE, "sh", "-c", SERVE, "sh", name, ECHO_SCRIPT, str(ECHO_PORT))
    state = json.loads(_docker(engine, "inspect", container))[0]
    pid = state["State"]["Pid"]
    endpoint = state["NetworkSettings"]["Networks"][network]["EndpointID"]
    reason = wait_until(lambda: None if listening(pid, ECHO_PORT) else "not listening yet", LISTEN_TIMEOUT_S,
                        interval=0.02)
    if reason is not None:
        logs = engine.docker("logs", container, check=False).stderr.strip()
        raise RuntimeFailure(f"container {name}: echo port {ECHO_PORT} {reason} after {LISTEN_TIMEOUT_S:g} s ({logs})")
    return {"id": container, "pid": pid, "endpoint": endpoint, "network": docker_network}


def listening(pid: int, port: int) -> bool:
    """True when a TCP socket listens on ``port`` in the network namespace of process ``pid``
    (busybox nc listens on IPv6, dual-stack: look at both tables)."""
    lines = []
    for table in ("tcp", "tcp6"):
        try:
            lines += Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]
        except OSError:
            return False
    return any(f[1].endswith(f":{port:04X}") and f[3] == TCP_LISTEN for f in (line.split() for line in lines))


def netns_path(pid: int) -> str:
    """The network namespace of a container's process ``pid``, as a path nsenter can enter."""
    return f"/proc/{pid}/ns/net"


def container_pid(engine: PrivateDockerd, name: str) -> int:
    """The pid of running container ``name``; raises RuntimeFailure when it does not run."""
    pid = int(_docker(engine, "inspect", "-f", "{{.State.Pid}}", name) or 0)
    if not pid:
        raise RuntimeFailure(f"container {name} is not running")
    return pid


def remove_engine(root: Path, netns: str | None) -> bool:
    """Remove every container and Docker network of the dockerd under ``root`` (so the plugin
    deletes the ports and unplugs the veths), stop it and its containerd by pid and delete
    ``root``. Returns whether anything was there. Safe in any state."""
    if not root.exists():
        return False
    engine = PrivateDockerd(root, netns=netns)
    try:
        if engine.pid():
            containers = engine.docker("ps", "-aq", check=False, timeout=30).stdout.split()
            if containers:
                engine.docker("rm", "-f", *containers, check=False, timeout=60)
            engine.docker("network", "prune", "-f", check=False, timeout=60)
    except subprocess.TimeoutExpired as exc:
        # dockerd waits on a network plugin that is gone (its host was removed first): stop it by
        # pid anyway, so it does not run on, and say what could not be removed.
        engine.stop()
        engine.destroy()
        raise RuntimeFailure(f"the dockerd under {root} did not answer `docker {' '.join(exc.cmd[3:5])}` within "
                             f"{exc.timeout:.0f} s (its network plugin's host is gone?); it was stopped, but its "
                             "containers' ports and Docker networks may be left in the API") from None
    engine.destroy()
    return True
