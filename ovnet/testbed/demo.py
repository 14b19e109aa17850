"""``ovnet demo``: the seed picture (``ovnet.testbed.seed``) built through the Neutron API with each
project's own token, its workloads bound by the agents of two hypervisors (the all-in-one and one
``ovnet host add``) as veth into namespaces, as taps of real QEMU VMs (``ovnet.testbed.vm``), for
one as a Docker container attached by the hypervisor's ovnet plugin (``ovnet.testbed.container``)
and for one as a Podman container attached through CNI (``ovnet.testbed.cnicontainer``),
and the reachability matrix measured with real packets (``ovnet.testbed.reach``): from a
namespace (or the container's) by ovnet.testbed.echo's probe, from a VM by the same probe inside
the guest; all ask the TCP echo service of the target for its name.

Everything the demo makes is written to ``<state_dir>/demo/demo.json`` as soon as it exists, so
``clean`` (and a failed build) removes exactly that, and a re-run starts from a clean slate.
Workload namespaces are also recorded with ``ovnet.runtime.owned`` and VMs by ``ovnet.testbed.vm``,
so ``ovnet down`` removes them; the namespaces' echo servers exit with their namespace; ``ovnet
down`` removes the demo's dockerd with stop_docker().
"""

from __future__ import annotations

import json
import shutil
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Callable

import httpx
from pyroute2 import netns as kernel_netns

from ovnet.apiclient import ApiClient, ApiError
from ovnet.config import Settings
from ovnet.host.agentclient import AgentClient
from ovnet.runtime import hosts, owned, underlay
from ovnet.runtime.process import RuntimeFailure, wait_until
from ovnet.testbed import cnicontainer, container, qemu, reach, seed, vm, workload
from ovnet.testbed.dockerd import PrivateDockerd
from ovnet.testbed.initscript import LINE_LEASE
from ovnet.testbed.qemu import VmError
from ovnet.testbed.vmimage import build_image

DEMO_DIR = "demo"
RECORD_FILE = "demo.json"
PROBE_TIMEOUT_S = 1.0  # per probe; what an unreachable cell costs
ACTIVE_TIMEOUT_S = 30.0
BOOT_TIMEOUT_S = 120.0  # a VM's DHCP leases on all NICs; ~3-6 s under TCG on a loaded host

Progress = Callable[[str], None]


@dataclass
class Record:
    """What one demo made: the extra host (and whether the demo created it), workload namespaces,
    VM names, the dockerd's root and network namespace ("": ours), and resource ids by kind.
    ``ports`` holds {"id", "socket"} (the binding agent's socket; "" for a VM's ports, which
    ``vm.remove`` unbinds, and the container's, which the plugin deletes with it)."""

    path: Path
    host: str = ""
    host_created: bool = False
    netns: list[str] = field(default_factory=list)
    vms: list[str] = field(default_factory=list)
    docker_root: str = ""
    docker_netns: str = ""
    podman_root: str = ""
    networks: list[str] = field(default_factory=list)
    subnets: list[str] = field(default_factory=list)
    ports: list[dict] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def load(cls, settings: Settings) -> Record | None:
        path = settings.state_dir / DEMO_DIR / RECORD_FILE
        if not path.exists():
            return None
        return cls(path=path, **json.loads(path.read_text()))

    def add(self, kind: str, item: object) -> None:
        """Append ``item`` to list ``kind`` and write the record (thread-safe)."""
        with self.lock:
            getattr(self, kind).append(item)
            self.save()

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        data = {f.name: getattr(self, f.name) for f in fields(self) if f.name not in ("path", "lock")}
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=1))
        tmp.replace(self.path)


def workload_netns(settings: Settings, name: str) -> str:
    """The namespace of workload ``name`` (e.g. ``A-vm1-1a2b``; the suffix names the installation)."""
    return f"{name}-{underlay.tag(settings.state_dir)}"


def _run_dir(settings: Settings) -> Path:
    return settings.state_dir / DEMO_DIR


def run(settings: Settings, tokens: dict[str, str], host: str, keep: bool = False,
        progress: Progress | None = None) -> tuple[list[reach.Cell], dict[str, float]]:
    """Build the seed, measure the matrix, and unless ``keep`` remove it all again.

    ``tokens`` maps each seed project name to a member token of that project; ``host`` names the
    second hypervisor (added unless it exists). Returns the cells (seed.pairs() order) and timings
    in seconds by phase. Raises RuntimeFailure or ApiError (after removing what it made).
    """
    note = progress or (lambda _msg: None)
    timings: dict[str, float] = {}
    try:
        build(settings, tokens, host, note, timings)
        started = time.monotonic()
        cells = measure(settings)
        timings["probe"] = time.monotonic() - started
    except BaseException:
        try:
            clean(settings, note)
        except Exception as exc:  # the build's own error is the one to report
            note(f"could not remove everything the demo made ({exc}); retry with `ovnet demo --clean`")
        raise
    if not keep:
        started = time.monotonic()
        clean(settings, note)
        timings["clean"] = time.monotonic() - started
    return cells, timings


def build(settings: Settings, tokens: dict[str, str], host: str, note: Progress, timings: dict[str, float]) -> None:
    """Make the seed picture (a previous demo is cleaned first); see run(). The dockerd starts
    while the API calls run; the VMs boot while the namespaces are plugged."""
    if Record.load(settings) is not None:
        note("removing the previous demo")
        clean(settings, note)
    started = time.monotonic()
    image = build_image(settings.cache_dir)  # reused when cached
    timings["vm image"] = time.monotonic() - started
    record = Record(settings.state_dir / DEMO_DIR / RECORD_FILE, host=host, host_created=host not in
                    hosts.host_names(settings))
    record.save()
    started = time.monotonic()
    hosts.add(settings, host)
    timings["host add"] = time.monotonic() - started
    note(f"hypervisors: {settings.chassis_name} (all-in-one) and {host}")
    host_settings = [settings, hosts.host_settings(settings, host)]

    # dockerd starts while the API calls run and the VMs boot; leaving the block waits for it, so
    # the clean-up of a failed build finds it recorded
    with ThreadPoolExecutor(max_workers=1) as background:
        engine = background.submit(_start_docker, settings, host_settings, record, timings)
        started = time.monotonic()
        with ThreadPoolExecutor(max_workers=len(tokens)) as pool:
            ports, networks = {}, {}
            for made, nets in pool.map(lambda p: _build_project(settings, p, tokens[p], record), seed.NETWORKS):
                ports.update(made)
                networks.update(nets)
        timings["api"] = time.monotonic() - started
        note(f"projects {', '.join(seed.NETWORKS)}: {len(record.networks)} networks, {len(ports)} ports via the API")

        started = time.monotonic()
        sockets = [h.agent_socket for h in host_settings]
        chassis = [None, host]

        def plug(wl: seed.Workload) -> None:
            if wl.kind == "vm":
                _boot(settings, wl, ports, tokens[wl.project], chassis[wl.hypervisor], image.kernel.parent, record)
            elif wl.kind == "docker":
                _run_container(settings, engine.result(), wl, host_settings[wl.hypervisor].docker_plugin,
                               networks[(wl.project, wl.nics[0].network)], record)
            elif wl.kind == "podman":
                _run_podman(settings, wl, sockets[wl.hypervisor], networks[(wl.project, wl.nics[0].network)],
                            tokens[wl.project], record)
            else:
                _plug(settings, wl, ports, tokens[wl.project], sockets[wl.hypervisor], record)

        # VMs first: they boot while the namespaces are plugged
        with ThreadPoolExecutor(max_workers=len(seed.WORKLOADS)) as pool:
            list(pool.map(plug, sorted(seed.WORKLOADS, key=lambda w: w.kind != "vm")))
        timings["bind"] = time.monotonic() - started
    vms = [w for w in seed.WORKLOADS if w.kind == "vm"]
    containers = [w.name for w in seed.WORKLOADS if w.kind == "docker"]
    cni = [w.name for w in seed.WORKLOADS if w.kind == "podman"]
    note(f"{len(ports)} ports bound by the agents, {len(containers)} by the Docker plugin, {len(cni)} through CNI; "
         f"echo servers up in {len(seed.WORKLOADS) - len(vms) - len(containers) - len(cni)} namespaces, Docker "
         f"container {', '.join(containers)} and Podman container {', '.join(cni)}; QEMU VMs "
         f"{', '.join(w.name for w in vms)} booting")

    started = time.monotonic()
    _wait_active(settings, [p["id"] for p in record.ports])
    timings["active"] = time.monotonic() - started
    started = time.monotonic()
    for wl in vms:
        _wait_leases(settings, wl)
    timings["vm leases"] = time.monotonic() - started


def _build_project(settings: Settings, project: str, token: str,
                   record: Record) -> tuple[dict[tuple[str, str], dict], dict[tuple[str, str], str]]:
    """Networks, subnets and ports of one project with its own token; returns ports by (workload,
    ifname) and network ids by (project, name). A container's port is the Docker plugin's or the CNI
    plugin's to make."""
    ports: dict[tuple[str, str], dict] = {}
    networks: dict[tuple[str, str], str] = {}
    containers = {w.name for w in seed.WORKLOADS if w.kind in ("docker", "podman")}
    with ApiClient(settings.api_endpoints, token) as api:
        subnets = {}
        for name, cidr in seed.NETWORKS[project].items():
            network = api.create_network(name=name)
            record.add("networks", network["id"])
            networks[(project, name)] = network["id"]
            subnet = api.create_subnet(network_id=network["id"], name=f"{name}-v4", cidr=cidr, ip_version=4)
            record.add("subnets", subnet["id"])
            subnets[name] = subnet
        for nic in (n for n in seed.nics() if n.project == project and n.workload not in containers):
            subnet = subnets[nic.network]
            port = api.create_port(network_id=subnet["network_id"], name=f"{nic.workload}-{nic.ifname}",
                                   fixed_ips=[{"subnet_id": subnet["id"], "ip_address": nic.address}])
            record.add("ports", {"id": port["id"], "socket": ""})
            ports[(nic.workload, nic.ifname)] = port
    return ports, networks


def _start_docker(settings: Settings, host_settings: list[Settings], record: Record,
                  timings: dict[str, float]) -> PrivateDockerd:
    """Start the demo's dockerd in the network namespace of the hypervisor of its container (there
    the plugin leaves the endpoint's veth for dockerd), recorded before it starts."""
    started = time.monotonic()
    wl = next(w for w in seed.WORKLOADS if w.kind == "docker")
    netns = host_settings[wl.hypervisor].netns or ""
    with record.lock:
        record.docker_root, record.docker_netns = str(docker_root(settings)), netns
        record.save()
    engine = container.start_engine(Path(record.docker_root), netns or None)
    timings["dockerd"] = time.monotonic() - started
    return engine


def _run_container(settings: Settings, engine: PrivateDockerd, wl: seed.Workload, plugin: str, network_id: str,
                   record: Record) -> None:
    """Run workload ``wl`` as a Docker container on the ovnet network ``network_id`` and record the
    port the plugin made for it (so clean() deletes it should the plugin not)."""
    nic = wl.nics[0]
    made = container.run(engine, wl.name, plugin, network_id, wl.project, seed.NETWORKS[wl.project][nic.network],
                         nic.address)
    with ApiClient.from_settings(settings) as admin:
        for port in admin.list_ports(device_id=made["endpoint"]):
            record.add("ports", {"id": port["id"], "socket": ""})


def _run_podman(settings: Settings, wl: seed.Workload, socket: Path, network_id: str, token: str,
                record: Record) -> None:
    """Run workload ``wl`` as a Podman container whose CNI ADD (the project's token, the agent on
    ``socket``) makes its port on ``network_id``; the root is recorded before anything starts."""
    with record.lock:
        record.podman_root = str(cnicontainer.engine_root(_run_dir(settings), underlay.tag(settings.state_dir)))
        record.save()
    podman = cnicontainer.start(Path(record.podman_root), socket, network_id, token)
    made = cnicontainer.run(podman, wl.name, wl.nics[0].address)
    with ApiClient.from_settings(settings) as admin:
        for port in admin.list_ports(device_id=made["id"]):
            record.add("ports", {"id": port["id"], "socket": ""})


def _plug(settings: Settings, wl: seed.Workload, ports: dict, token: str, socket: Path, record: Record) -> None:
    ns = workload_netns(settings, wl.name)
    owned.ensure_netns(settings.state_dir, ns)
    record.add("netns", ns)
    with AgentClient(socket, token) as agent:
        for nic in wl.nics:
            port_id = ports[(wl.name, nic.ifname)]["id"]
            with record.lock:
                next(p for p in record.ports if p["id"] == port_id)["socket"] = str(socket)
                record.save()
            agent.bind(port_id, "veth", ns, ifname=nic.ifname)
    workload.echo_server(ns, wl.name, _run_dir(settings)).start()


def _boot(settings: Settings, wl: seed.Workload, ports: dict, token: str, host: str | None, image: Path,
          record: Record) -> None:
    """Boot workload ``wl`` as a VM named like it (its echo service answers that name) with one
    NIC per port, on the all-in-one (``host`` None) or ``host``. Recorded once it runs: a failed
    vm.run leaves nothing, and a VM of that name that is not the demo's is never touched."""
    vm.run(settings, wl.name, [ports[(wl.name, nic.ifname)]["id"] for nic in wl.nics], host=host, image=image,
           token=token)
    record.add("vms", wl.name)


def _wait_leases(settings: Settings, wl: seed.Workload) -> None:
    """Wait until VM ``wl`` has its DHCP lease on every NIC (only then does it answer)."""
    record = vm.load_record(settings, wl.name)
    for nic in wl.nics:
        if qemu.wait_console(Path(record.console), LINE_LEASE, BOOT_TIMEOUT_S, suffix=f" dev={nic.ifname}") is None:
            raise RuntimeFailure(f"VM {wl.name} got no DHCP lease on {nic.ifname} within {BOOT_TIMEOUT_S:g} s; "
                                 f"see {record.console}")


def _wait_active(settings: Settings, port_ids: list[str]) -> None:
    with ApiClient.from_settings(settings) as admin:
        def pending() -> str | None:
            down = [p["name"] for p in admin.list_ports(id=port_ids) if p["status"] != "ACTIVE"]
            return f"ports not ACTIVE yet: {', '.join(sorted(down))}" if down else None

        reason = wait_until(pending, ACTIVE_TIMEOUT_S, interval=0.1)
    if reason is not None:
        raise RuntimeFailure(f"{reason} after {ACTIVE_TIMEOUT_S:g} s")


def docker_root(settings: Settings) -> Path:
    """The directory of the demo's dockerd (see ovnet.testbed.container.engine_root)."""
    return container.engine_root(_run_dir(settings), underlay.tag(settings.state_dir))


def docker_engine(settings: Settings) -> PrivateDockerd:
    """The recorded demo's dockerd (for ``docker -H``); raises RuntimeFailure when none is recorded."""
    record = Record.load(settings)
    if record is None or not record.docker_root:
        raise RuntimeFailure("no demo with a Docker container is recorded")
    return PrivateDockerd(Path(record.docker_root), netns=record.docker_netns or None)


def measure(settings: Settings, timeout: float = PROBE_TIMEOUT_S) -> list[reach.Cell]:
    """Probe every seed pair (ovnet.testbed.reach.measure) where the demo's workloads live: the
    namespaces, the container's namespace (through its pid) and the VMs' guest shells."""
    netns = {w.name: workload_netns(settings, w.name) for w in seed.WORKLOADS if w.kind == "netns"}
    if any(w.kind == "docker" for w in seed.WORKLOADS):
        engine = docker_engine(settings)
        netns.update({w.name: container.netns_path(container.container_pid(engine, w.name))
                      for w in seed.WORKLOADS if w.kind == "docker"})
    if any(w.kind == "podman" for w in seed.WORKLOADS):
        podman = cnicontainer.engine(Path(Record.load(settings).podman_root))
        netns.update({w.name: container.netns_path(cnicontainer.container_pid(podman, w.name))
                      for w in seed.WORKLOADS if w.kind == "podman"})
    shells = {w.name: Path(vm.load_record(settings, w.name).shell) for w in seed.WORKLOADS if w.kind == "vm"}
    return reach.measure(netns, shells, timeout)


def clean(settings: Settings, note: Progress | None = None) -> list[str]:
    """Remove what the recorded demo made (echo servers, the Docker container, network and dockerd,
    VMs, bindings, ports, subnets, networks, namespaces, the host it added); returns what was
    removed. Nothing recorded: nothing to do. Uses the admin token: the operator cleans up
    whatever the projects made."""
    note = note or (lambda _msg: None)
    record = Record.load(settings)
    if record is None:
        return []
    removed: list[str] = []
    admin_token = settings.admin_token_file.read_text().strip()
    for wl in seed.WORKLOADS:
        if wl.kind == "netns" and workload.echo_server(workload_netns(settings, wl.name), wl.name,
                                                       _run_dir(settings)).stop():
            removed.append(f"echo {wl.name}")
    if stop_docker(settings, record):
        removed.append(f"dockerd {record.docker_root}")
    if record.podman_root and cnicontainer.remove(Path(record.podman_root)):
        removed.append(f"podman {record.podman_root}")
    for name in record.vms:
        try:
            vm.remove(settings, name)  # stops QEMU by pid, unbinds its ports
            removed.append(f"vm {name}")
        except VmError:
            pass  # never booted, or `ovnet vm rm` was there first
    for port in record.ports:
        if port["socket"] and _unbind(port, admin_token):
            removed.append(f"binding {port['id']}")
    with ApiClient.from_settings(settings) as admin:
        for kind, delete in (("ports", admin.delete_port), ("subnets", admin.delete_subnet),
                             ("networks", admin.delete_network)):
            for item in getattr(record, kind):
                resource_id = item["id"] if isinstance(item, dict) else item
                try:
                    delete(resource_id)
                    removed.append(f"{kind[:-1]} {resource_id}")
                except ApiError as exc:
                    if exc.status != 404:
                        raise
    present = set(kernel_netns.listnetns())
    for ns in record.netns:
        if ns in present:
            kernel_netns.remove(ns)
            removed.append(f"netns {ns}")
        owned.forget(settings.state_dir, netns_name=ns)
    if record.host_created and hosts.remove(settings, record.host):
        removed.append(f"host {record.host}")
    shutil.rmtree(_run_dir(settings))  # the record, echo pidfiles, logs and ready marks
    note(f"removed {len(removed)} things the demo made")
    return removed


def stop_docker(settings: Settings, record: Record | None = None) -> bool:
    """Remove the recorded demo's containers and Docker networks (while the plugin still answers,
    so it deletes their ports), stop its dockerd and containerd by pid and delete their root
    (for clean() and ``ovnet down``). Returns whether there was one."""
    record = record or Record.load(settings)
    if record is None or not record.docker_root:
        return False
    return container.remove_engine(Path(record.docker_root), record.docker_netns or None)


def stop_podman(settings: Settings) -> bool:
    """Remove the recorded demo's Podman containers (their CNI DELs delete the ports while the
    agents still answer) and its root (for ``ovnet down``). Returns whether there was one."""
    record = Record.load(settings)
    return bool(record and record.podman_root and cnicontainer.remove(Path(record.podman_root)))


def down_hook(settings: Settings) -> list[str]:
    """The ``ovnet.down`` hook (ovnet.runtime.cleanup): stop_docker first of all, since its
    containers' ports go through the agents' plugins, then stop_podman (likewise through the
    agents' CNI routes)."""
    stopped = ["the demo's dockerd"] if stop_docker(settings) else []
    return stopped + (["the demo's Podman containers"] if stop_podman(settings) else [])


def _unbind(port: dict, token: str) -> bool:
    if not Path(port["socket"]).exists():
        return False  # that agent is gone, and with it (`ovnet down`) its bridge and ports
    try:
        with AgentClient(port["socket"], token) as agent:
            agent.unbind(port["id"])
        return True
    except ApiError as exc:
        if exc.status == 404:
            return False
        raise
    except httpx.TransportError:
        return False

