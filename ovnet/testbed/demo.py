"""``ovnet demo``: the seed picture (``ovnet.testbed.seed``) built through the Neutron API with each
project's own token, its workloads bound by the agents of two hypervisors (the all-in-one and one
``ovnet host add``) as veth into namespaces, as taps of real QEMU VMs (``ovnet.testbed.vm``), for
one as a Docker container attached by the hypervisor's ovnet plugin (``ovnet.testbed.container``)
and for one as a Podman container attached through CNI (``ovnet.testbed.cnicontainer``),
each project's router from its networks to the public network (made by the admin: flat on the
physical network ``public``, ``router:external``) with SNAT, floating IPs, and security groups
(``default`` plus one opening ICMP and TCP 7 on the workloads that have a floating IP but
A-vm3), and the reachability matrix measured with real packets (``ovnet.testbed.reach``): from a
namespace (or the container's, or the public namespace's outside host) by ovnet.testbed.echo's
probe, from a VM by the same probe inside the guest; all ask the TCP echo service of the target
for its name (the outside host's also tells the source address it saw).

Everything the demo makes is written to ``<state_dir>/demo/demo.json`` as soon as it exists, so
``clean`` (and a failed build) removes exactly that, and a re-run starts from a clean slate.
Workload namespaces are also recorded with ``ovnet.runtime.owned`` and VMs by ``ovnet.testbed.vm``,
so ``ovnet down`` removes them; the namespaces' echo servers exit with their namespace; ``ovnet
down`` removes the demo's dockerd with stop_docker().
"""

from __future__ import annotations

import ipaddress
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
from ovnet.host.docker import pools
from ovnet.runtime import cleanup, hosts, owned, public, underlay
from ovnet.runtime.daemon import Service
from ovnet.runtime.process import RuntimeFailure, wait_until
from ovnet.testbed import cnicontainer, container, qemu, reach, seed, vm, workload
from ovnet.testbed.dockerd import PrivateDockerd
from ovnet.testbed.initscript import LINE_LEASE
from ovnet.testbed.qemu import VmError
from ovnet.testbed.vmimage import build_image
from ovnet.testbed.workload import ECHO_PORT

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
    ``vm.remove`` unbinds, and the container's, which the plugin deletes with it);
    ``projects`` those the demo created; ``nic_ports`` a port id by "workload/ifname";
    ``floating`` a floating IP address by workload; ``gateways`` a router's gateway address by
    project; ``public_network`` the external network's id; ``docker_networks`` the ids of the
    Docker networks its dockerd made (each claims its ovnet network with a tag)."""

    path: Path
    host: str = ""
    host_created: bool = False
    netns: list[str] = field(default_factory=list)
    vms: list[str] = field(default_factory=list)
    docker_root: str = ""
    docker_netns: str = ""
    podman_root: str = ""
    projects: list[str] = field(default_factory=list)
    public_network: str = ""
    networks: list[str] = field(default_factory=list)
    subnets: list[str] = field(default_factory=list)
    ports: list[dict] = field(default_factory=list)
    routers: list[str] = field(default_factory=list)
    floatingips: list[str] = field(default_factory=list)
    docker_networks: list[str] = field(default_factory=list)
    security_groups: list[str] = field(default_factory=list)
    nic_ports: dict[str, str] = field(default_factory=dict)
    floating: dict[str, str] = field(default_factory=dict)
    gateways: dict[str, str] = field(default_factory=dict)
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

    def put(self, kind: str, key: str, value: str) -> None:
        """Set ``key`` of dict ``kind`` and write the record (thread-safe)."""
        with self.lock:
            getattr(self, kind)[key] = value
            self.save()

    def world(self, settings: Settings) -> seed.World:
        """The seed.World this demo made: the outside host, floating IPs and router gateways."""
        return seed.World(seed.outside_nic(public.outside_address(settings)[0]), dict(self.floating),
                          dict(self.gateways))

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


Judge = Callable[[list[reach.Cell], "Record"], list[reach.Cell]]


def run(settings: Settings, tokens: dict[str, str], host: str, keep: bool = False,
        progress: Progress | None = None, judge: Judge | None = None,
        projects: list[str] = ()) -> tuple[list[reach.Cell], dict[str, float]]:
    """Build the seed, measure the matrix, and unless ``keep`` remove it all again.

    ``tokens`` maps each seed project name to a member token of that project; ``host`` names the
    second hypervisor (added unless it exists); ``projects``: the ids of projects made for this
    demo (clean() deletes them). ``judge`` gets the measured cells and the record before anything
    is removed and returns them annotated (the CLI's ``ovnet trace`` of every cell). Returns the
    cells (seed.pairs() order) and timings in seconds by phase. Raises RuntimeFailure or ApiError
    (after removing what it made); RuntimeFailure, touching nothing, while a previous demo is
    recorded: clean() it before issuing ``tokens``, as clean() deletes the projects it made and
    so revokes their tokens, which a kept demo's projects are.
    """
    note = progress or (lambda _msg: None)
    if Record.load(settings) is not None:
        raise RuntimeFailure("a previous demo is still recorded: clean() it before issuing the tokens "
                             "(`ovnet demo --clean`)")
    timings: dict[str, float] = {}
    try:
        build(settings, tokens, host, note, timings, projects)
        started = time.monotonic()
        cells = measure(settings)
        timings["probe"] = time.monotonic() - started
        if judge is not None:
            started = time.monotonic()
            cells = judge(cells, Record.load(settings))
            timings["trace"] = time.monotonic() - started
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


def build(settings: Settings, tokens: dict[str, str], host: str, note: Progress, timings: dict[str, float],
          projects: list[str] = ()) -> None:
    """Make the seed picture; see run(). The dockerd starts while the API calls run; the VMs boot
    while the namespaces are plugged."""
    started = time.monotonic()
    image = build_image(settings.cache_dir)  # reused when cached
    timings["vm image"] = time.monotonic() - started
    record = Record(settings.state_dir / DEMO_DIR / RECORD_FILE, host=host, host_created=host not in
                    hosts.host_names(settings), projects=list(projects))
    record.save()
    _build_public(settings, record)
    note(f"public network {settings.public_cidr}: outside host {public.outside_address(settings)[0]} "
         f"in namespace {settings.public_netns}")
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
        note(f"projects {', '.join(seed.NETWORKS)}: {len(record.networks) - 1} networks, {len(ports)} ports, "
             f"a router each (SNAT), groups {seed.DEFAULT_GROUP} and {seed.OPEN_GROUP}, via the API")

        started = time.monotonic()
        sockets = [h.agent_socket for h in host_settings]
        chassis = [None, host]

        def plug(wl: seed.Workload) -> None:
            if wl.kind == "vm":
                _boot(settings, wl, ports, tokens[wl.project], chassis[wl.hypervisor], image.kernel.parent, record)
            elif wl.kind == "docker":
                _run_container(settings, engine.result(), wl, host_settings[wl.hypervisor].docker_plugin,
                               networks[(wl.project, wl.nics[0].network)], tokens[wl.project], record)
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

    note("floating IPs " + ", ".join(f"{a} -> {w}" for w, a in record.floating.items())
         + "; router gateways " + ", ".join(f"{a} ({p})" for p, a in record.gateways.items()))
    started = time.monotonic()
    _wait_active(settings, [p["id"] for p in record.ports])
    timings["active"] = time.monotonic() - started
    started = time.monotonic()
    for wl in vms:
        _wait_leases(settings, wl)
    timings["vm leases"] = time.monotonic() - started


def _build_public(settings: Settings, record: Record) -> None:
    """As the admin: the external network ``public`` (flat on the physical network, ``router:external``)
    and its subnet (no DHCP; the outside host is its gateway; floating IPs and router gateways from
    the pool), then the outside host's echo server, which tells each caller its address."""
    outside, _prefix = public.outside_address(settings)
    net = ipaddress.ip_network(settings.public_cidr)
    with ApiClient.from_settings(settings) as admin:
        network = admin.create_network(name=seed.PUBLIC_NETWORK, **{
            "router:external": True, "provider:network_type": "flat",
            "provider:physical_network": settings.physical_network})
        record.add("networks", network["id"])
        with record.lock:
            record.public_network = network["id"]
            record.save()
        subnet = admin.create_subnet(network_id=network["id"], name=f"{seed.PUBLIC_NETWORK}-v4",
                                     cidr=settings.public_cidr, ip_version=4, gateway_ip=outside, enable_dhcp=False,
                                     allocation_pools=[{"start": str(net.network_address + 10),
                                                        "end": str(net.network_address + 9 + seed.PUBLIC_POOL_SIZE)}])
        record.add("subnets", subnet["id"])
    _outside_echo(settings).start()


def _outside_echo(settings: Settings) -> Service:
    return workload.echo_server(settings.public_netns, seed.OUTSIDE, _run_dir(settings), peer=True)


def _build_project(settings: Settings, project: str, token: str,
                   record: Record) -> tuple[dict[tuple[str, str], dict], dict[tuple[str, str], str]]:
    """Networks, subnets, groups, the router (interfaces on every subnet, gateway on the public
    network with SNAT), ports and floating IPs of one project with its own token; returns ports by
    (workload, ifname) and network ids by (project, name). A container's port is the Docker
    plugin's or the CNI plugin's to make (and its floating IP is made once it exists)."""
    ports: dict[tuple[str, str], dict] = {}
    networks: dict[tuple[str, str], str] = {}
    containers = {w.name for w in seed.WORKLOADS if w.kind in ("docker", "podman")}
    with ApiClient(settings.api_endpoints, token) as api:
        default = api.list("security-groups", name=seed.DEFAULT_GROUP)[0]["id"]  # made on first use
        opened = _open_group(api, record)
        router = api.create("router", "routers", {"name": f"router-{project}", "external_gateway_info": {
            "network_id": record.public_network, "enable_snat": True}})
        record.add("routers", router["id"])
        record.put("gateways", project, router["external_gateway_info"]["external_fixed_ips"][0]["ip_address"])
        subnets = {}
        for name, cidr in seed.NETWORKS[project].items():
            network = api.create_network(name=name)
            record.add("networks", network["id"])
            networks[(project, name)] = network["id"]
            subnet = api.create_subnet(network_id=network["id"], name=f"{name}-v4", cidr=cidr, ip_version=4)
            record.add("subnets", subnet["id"])
            subnets[name] = subnet
            api.request("PUT", f"/v2.0/routers/{router['id']}/add_router_interface", json={"subnet_id": subnet["id"]})
        for nic in (n for n in seed.nics() if n.project == project and n.workload not in containers):
            subnet = subnets[nic.network]
            groups = [default, opened] if nic.workload in seed.OPEN else [default]
            # device_id = the workload (Nova's convention: the instance), so `ovnet trace --from A-vm1`
            # finds it; device_owner stays empty for a namespace (the topology page tells kinds by it).
            port = api.create_port(network_id=subnet["network_id"], name=f"{nic.workload}-{nic.ifname}",
                                   device_id=nic.workload,
                                   fixed_ips=[{"subnet_id": subnet["id"], "ip_address": nic.address}],
                                   security_groups=groups)
            record.add("ports", {"id": port["id"], "socket": ""})
            record.put("nic_ports", f"{nic.workload}/{nic.ifname}", port["id"])
            ports[(nic.workload, nic.ifname)] = port
            if nic.workload in seed.FLOATING:
                _float(api, nic.workload, port["id"], record)
    return ports, networks


def _open_group(api: ApiClient, record: Record) -> str:
    """The caller's project's group OPEN_GROUP: ICMP and TCP 7 (echo) in from anywhere; its id."""
    group = api.create("security_group", "security-groups", {
        "name": seed.OPEN_GROUP, "description": "ping and echo from anywhere (the floating IPs' workloads)"})
    record.add("security_groups", group["id"])
    for rule in ({"protocol": "icmp"}, {"protocol": "tcp", "port_range_min": ECHO_PORT, "port_range_max": ECHO_PORT}):
        api.create("security_group_rule", "security-group-rules", {
            "security_group_id": group["id"], "direction": "ingress", "ethertype": "IPv4", **rule})
    return group["id"]


def _float(api: ApiClient, name: str, port_id: str, record: Record) -> None:
    """A floating IP from the public network for workload ``name``'s port, recorded."""
    fip = api.create("floatingip", "floatingips", {"floating_network_id": record.public_network, "port_id": port_id})
    record.add("floatingips", fip["id"])
    record.put("floating", name, fip["floating_ip_address"])


def _container_port(settings: Settings, wl: seed.Workload, device_id: str, token: str, record: Record) -> None:
    """Record the port a plugin made for container ``wl`` (clean() deletes it should the plugin
    not); with the project's ``token`` put it in OPEN_GROUP and give it a floating IP as the seed says."""
    with ApiClient.from_settings(settings) as admin:
        made = admin.list_ports(device_id=device_id)
    for port in made:
        record.add("ports", {"id": port["id"], "socket": ""})
        record.put("nic_ports", f"{wl.name}/{wl.nics[0].ifname}", port["id"])
    with ApiClient(settings.api_endpoints, token) as api:
        for port in made:
            if wl.name in seed.OPEN:
                opened = api.list("security-groups", name=seed.OPEN_GROUP)[0]["id"]
                api.update("port", "ports", port["id"], {"security_groups": [*port["security_groups"], opened]})
            if wl.name in seed.FLOATING:
                _float(api, wl.name, port["id"], record)


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
                   token: str, record: Record) -> None:
    """Run workload ``wl`` as a Docker container on the ovnet network ``network_id``, then see to
    its port (_container_port)."""
    nic = wl.nics[0]
    made = container.run(engine, wl.name, plugin, network_id, wl.project, seed.NETWORKS[wl.project][nic.network],
                         nic.address)
    record.add("docker_networks", made["network"])
    _container_port(settings, wl, made["endpoint"], token, record)


def _run_podman(settings: Settings, wl: seed.Workload, socket: Path, network_id: str, token: str,
                record: Record) -> None:
    """Run workload ``wl`` as a Podman container whose CNI ADD (the project's token, the agent on
    ``socket``) makes its port on ``network_id``, then see to its port (_container_port); the root
    is recorded before anything starts."""
    with record.lock:
        record.podman_root = str(cnicontainer.engine_root(_run_dir(settings), underlay.tag(settings.state_dir)))
        record.save()
    podman = cnicontainer.start(Path(record.podman_root), socket, network_id, token)
    made = cnicontainer.run(podman, wl.name, wl.nics[0].address)
    _container_port(settings, wl, made["id"], token, record)


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
    workload.announce_own_addresses(ns)
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
    namespaces, the container's namespace (through its pid), the VMs' guest shells and the
    public namespace (the outside host)."""
    netns = {w.name: workload_netns(settings, w.name) for w in seed.WORKLOADS if w.kind == "netns"}
    if any(w.kind == "docker" for w in seed.WORKLOADS):
        engine = docker_engine(settings)
        netns.update({w.name: container.netns_path(container.container_pid(engine, w.name))
                      for w in seed.WORKLOADS if w.kind == "docker"})
    if any(w.kind == "podman" for w in seed.WORKLOADS):
        podman = cnicontainer.engine(Path(Record.load(settings).podman_root))
        netns.update({w.name: container.netns_path(cnicontainer.container_pid(podman, w.name))
                      for w in seed.WORKLOADS if w.kind == "podman"})
    netns[seed.OUTSIDE] = settings.public_netns
    shells = {w.name: Path(vm.load_record(settings, w.name).shell) for w in seed.WORKLOADS if w.kind == "vm"}
    return reach.measure(netns, shells, timeout, Record.load(settings).world(settings))


def clean(settings: Settings, note: Progress | None = None) -> list[str]:
    """Remove what the recorded demo made (echo servers, the Docker container, network and dockerd,
    VMs, bindings, the API's resources (_delete_resources), namespaces, the host it added);
    returns what was removed. Nothing recorded: nothing to do. Uses the admin token: the operator cleans up
    whatever the projects made. Raises DemoNetworkInUse, before removing anything, when ports the
    demo did not make (a user's port, router gateway or floating IP) are on any of its networks."""
    note = note or (lambda _msg: None)
    record = Record.load(settings)
    if record is None:
        return []
    with ApiClient.from_settings(settings) as admin:
        others = _others_on_demo_networks(admin, record)
    if others:
        # Checked before anything goes: a subnet or network could not be deleted under them
        # (409 SubnetInUse), and a clean-up failing there would leave the demo half-removed.
        raise DemoNetworkInUse(f"the demo's networks hold ports it did not make: {'; '.join(others)}. Remove them "
                               "first (`openstack port delete`, `openstack router unset --external-gateway`, "
                               "`openstack floating ip delete`); nothing was removed")
    removed: list[str] = []
    admin_token = settings.admin_token_file.read_text().strip()
    for wl in seed.WORKLOADS:
        if wl.kind == "netns" and workload.echo_server(workload_netns(settings, wl.name), wl.name,
                                                       _run_dir(settings)).stop():
            removed.append(f"echo {wl.name}")
    if _outside_echo(settings).stop():
        removed.append(f"echo {seed.OUTSIDE}")
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
        removed += _delete_resources(admin, record)
    present = set(kernel_netns.listnetns())
    for ns in record.netns:
        if ns in present:
            kernel_netns.remove(ns)
            removed.append(f"netns {ns}")
        owned.forget(settings.state_dir, netns_name=ns)
    if record.host_created and hosts.host_settings(settings, record.host):
        # As `ovnet host remove` does: the VMs still on it (a user's), then the host, then the
        # ports still bound to it (a user's too), which a removed host would leave bound.
        removed += cleanup.run_host_remove_hooks(settings, record.host)
        hosts.remove(settings, record.host)
        removed.append(f"host {record.host}")
        with ApiClient.from_settings(settings) as admin:
            removed += [f"binding {port_id}" for port_id in admin.unbind_host(record.host)]
    shutil.rmtree(_run_dir(settings))  # the record, echo pidfiles, logs and ready marks
    note(f"removed {len(removed)} things the demo made")
    return removed


class DemoNetworkInUse(RuntimeError):
    """The recorded demo's networks (its projects' and the public one) hold ports of resources the
    demo did not make."""


def _others_on_demo_networks(admin: ApiClient, record: Record) -> list[str]:
    """The ports on the recorded networks that are neither the demo's own (recorded ports, its
    routers' interfaces and gateways, its floating IPs) nor removed with their network (DHCP),
    each as "port ID NAME (DEVICE_OWNER of DEVICE_ID, project P) on network NET"; none once those
    networks are gone."""
    networks = [record.public_network] if record.public_network else []
    networks += [n for n in record.networks if n not in networks]
    if not networks:
        return []
    mine_devices = {*record.routers, *record.floatingips}
    mine_ports = {p["id"] for p in record.ports}
    names = {n["id"]: n["name"] for n in admin.list_networks(id=networks)}
    others = []
    for p in admin.list_ports(network_id=networks):
        if p["id"] in mine_ports or p["device_id"] in mine_devices or p["device_owner"] == "network:dhcp":
            continue
        owner = (p["device_owner"] or "no owner") + (f" of {p['device_id']}" if p["device_id"] else "")
        named = f"port {p['id']}" + (f" {p['name']}" if p["name"] else "")
        network = names.get(p["network_id"], p["network_id"])
        others.append(f"{named} ({owner}, project {p['project_id']}) on network {network}")
    return others


def _delete_resources(admin: ApiClient, record: Record) -> list[str]:
    """Delete the recorded API resources, those that hold others first: floating IPs, the routers
    (their interfaces, then each router with its gateway port), ports, subnets, networks (the
    public one last), the groups (the projects' ``default`` ones too) and the projects the demo
    made. What is gone already (404) is skipped. First, the claims (in-use tags) its Docker networks
    left on its networks: called once its dockerd is gone, they are stale (a dockerd that hung on
    a removed host's plugin was stopped without removing its networks). Returns what was deleted."""
    removed: list[str] = []
    if record.docker_networks and record.networks:
        claims = {pools.in_use_tag(d) for d in record.docker_networks}
        for network in admin.list_networks(id=record.networks):
            for tag in claims & set(network["tags"]):
                admin.remove_tag("networks", network["id"], tag)
                removed.append(f"claim {tag} on network {network['id']}")

    def gone(kind: str, resource_id: str, call: Callable[[], object]) -> None:
        try:
            call()
            removed.append(f"{kind} {resource_id}")
        except ApiError as exc:
            if exc.status != 404:
                raise

    for fip in record.floatingips:
        gone("floating IP", fip, lambda: admin.delete("floatingips", fip))
    for router in record.routers:
        for port in admin.list_ports(device_id=router, device_owner="network:router_interface"):
            gone("router interface", port["id"], lambda: admin.request(
                "PUT", f"/v2.0/routers/{router}/remove_router_interface", json={"port_id": port["id"]}))
        gone("router", router, lambda: admin.delete("routers", router))
    for kind, delete in (("ports", admin.delete_port), ("subnets", admin.delete_subnet),
                         ("networks", admin.delete_network)):
        for item in getattr(record, kind):
            resource_id = item["id"] if isinstance(item, dict) else item
            gone(kind[:-1], resource_id, lambda: delete(resource_id))
    defaults = [g["id"] for project in record.projects
                for g in admin.list("security-groups", project_id=project, name=seed.DEFAULT_GROUP)]
    for group in [*record.security_groups, *defaults]:
        gone("security group", group, lambda: admin.delete("security-groups", group))
    for project in record.projects:
        gone("project", project, lambda: admin.delete_project(project))
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


def host_remove_hook(settings: Settings, host: str) -> list[str]:
    """The ``ovnet.host_remove`` hook (ovnet.runtime.cleanup): before hypervisor ``host`` goes, stop
    the recorded demo's dockerd when it runs in that host's namespace, and its Podman containers
    when their CNI agent is that host's, as down_hook does for all. Now, while the host's Docker
    plugin and agent still answer their DELs: once the host is gone dockerd's ``rm -f`` hangs on the
    vanished plugin and the containers' conmon lives on."""
    record = Record.load(settings)
    removed = hosts.host_settings(settings, host)
    if record is None or removed is None:
        return []
    chassis = [settings.chassis_name, record.host]
    stopped = []
    if record.docker_root and removed.netns and record.docker_netns == removed.netns and stop_docker(settings, record):
        stopped.append("the demo's dockerd")
    if any(w.kind == "podman" and chassis[w.hypervisor] == host for w in seed.WORKLOADS) and stop_podman(settings):
        stopped.append("the demo's Podman containers")
    return stopped


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

