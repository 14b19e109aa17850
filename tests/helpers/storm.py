"""The fault storm of issue 15, shared by tests/e2e/chaos (20 kills) and bench/chaos.py (200).

Two hypervisors (a private all-in-one and ``ovnet host add``) and a private dockerd in the
all-in-one's namespace. A workload loop creates, binds (namespaces through the agent and through
``ovnet port bind``, taps, Docker containers), unbinds and deletes ports, networks and subnets
through the API, the CLI and Docker, with one QEMU VM running on the second hypervisor
throughout, while a killer SIGKILLs, at random moments, one of the
daemons this storm started (ovnet-server, an ovnet-agent, ovn-northd, an ovn-controller, the NB
ovsdb-server, a local ovsdb-server, an ovs-vswitchd, the private dockerd) and repairs with
``ovnet up`` (``allinone.up``; the dockerd is restarted as its service manager would). Only pids
of this storm's own pidfiles are ever signalled.

At the end, after one reconcile interval: ``ovnet check`` must find nothing, every ACTIVE port
must answer a ping from a probe port of its network (taps excepted: no VM reads them), every
Docker port must belong to a running container and every running container hold its port's
address, and every operation answered 2xx must be reflected by the API.
"""

from __future__ import annotations

import dataclasses
import os
import random
import secrets
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import httpx
from pyroute2 import netns as pyroute_netns

from ovnet.apiclient import ApiClient, ApiError
from ovnet.cli.check import collect
from ovnet.config import Settings
from ovnet.host.agentclient import AgentClient
from ovnet.runtime import allinone as aio, hosts
from ovnet.testbed import vm
from ovnet.testbed.dockerd import PrivateDockerd
from ovnet.testbed.vmimage import build_image
from tests.helpers.allinone import private_settings
from tests.helpers.hostnet import ns_run

TARGETS = ("ovnet-server", "ovnet-agent", "ovn-northd", "ovn-controller", "ovsdb-nb", "ovsdb-local",
           "ovs-vswitchd", "dockerd")
REFUSED = (httpx.ConnectError,)  # the request never left: nothing happened
UNCERTAIN = (httpx.HTTPError, OSError, subprocess.TimeoutExpired)  # the answer was lost: state unknown


@dataclasses.dataclass
class Expected:
    """What the 2xx answers promised: live objects, deleted ones, and bindings (port -> host)."""

    networks: dict[str, str] = dataclasses.field(default_factory=dict)  # id -> subnet id
    ports: dict[str, str] = dataclasses.field(default_factory=dict)  # id -> network id
    gone: set[str] = dataclasses.field(default_factory=set)  # deleted with a 2xx
    bound: dict[str, tuple[str, str]] = dataclasses.field(default_factory=dict)  # port -> (host, kind)
    uncertain: set[str] = dataclasses.field(default_factory=set)  # an answer was lost: skip the promise
    containers: set[str] = dataclasses.field(default_factory=set)


@dataclasses.dataclass
class Report:
    """What a storm did and found."""

    seed: int
    kills: Counter = dataclasses.field(default_factory=Counter)
    ops: Counter = dataclasses.field(default_factory=Counter)  # "op ok" / "op failed" / "op lost"
    findings: list[str] = dataclasses.field(default_factory=list)
    converge_s: float | None = None
    repair_failures: list[str] = dataclasses.field(default_factory=list)
    details: list[str] = dataclasses.field(default_factory=list)  # evidence kept for a finding

    def lines(self) -> list[str]:
        """The report as text lines."""
        return [f"seed {self.seed}; kills {sum(self.kills.values())}: {dict(sorted(self.kills.items()))}",
                f"operations {sum(self.ops.values())}: {dict(sorted(self.ops.items()))}",
                f"ovnet check clean {self.converge_s:.1f} s after the last kill (its repair included)"
                if self.converge_s is not None
                else "did not converge",
                f"repairs that failed: {len(self.repair_failures)}",
                f"findings: {len(self.findings)}", *[f"  {f}" for f in self.findings],
                *[f"  | {d}" for d in self.details]]


class Storm:
    """One storm's world: all-in-one + host + dockerd, the expected state, the netns it made."""

    def __init__(self, root: Path, seed: int):
        self.rng = random.Random(seed)
        self.report = Report(seed)
        self.dockerd = PrivateDockerd(live_restore=True)
        self.settings: Settings = private_settings(root, docker_host=self.dockerd.host, sync_interval=10.0,
                                                   agent_sync_interval=2.0, bind_timeout=20.0)
        self.host = f"hv{self.settings.chassis_name[-4:]}"
        self.expected = Expected()
        self.namespaces: list[str] = []
        self.docker_net = f"dn-{secrets.token_hex(3)}"
        self.api: ApiClient | None = None
        self._counter = 0
        self.last_kill = time.monotonic()

    # -- world -------------------------------------------------------------------------------
    def start(self) -> None:
        """Start the all-in-one, the host, the dockerd and the Docker network."""
        aio.up(self.settings)
        hosts.add(self.settings, self.host)
        self.dockerd.netns = self.settings.netns
        self.dockerd.start()
        self.dockerd.import_busybox("bb:latest")
        plugin = self.settings.docker_plugin
        self.dockerd.docker("network", "create", "-d", plugin, "--ipam-driver", plugin, "--subnet", "10.99.0.0/24",
                            self.docker_net)
        self.api = ApiClient.from_settings(self.settings)
        self._start_vm()

    def _start_vm(self) -> None:
        # One QEMU VM on the second hypervisor, on a network of its own with OVN's DHCP; it lives
        # through the whole storm and is probed at the end like every ACTIVE port.
        build_image(self.settings.cache_dir)
        net = self.api.create_network(name="storm-vm")
        self.api.create_subnet(network_id=net["id"], cidr="10.98.0.0/24", ip_version=4)
        port = self.api.create_port(network_id=net["id"], name="storm-vm")
        vm.run(self.settings, f"st-{secrets.token_hex(2)}", port["id"], host=self.host)
        self.expected.bound[port["id"]] = (self.host, "vm")

    def destroy(self) -> None:
        """Remove everything the storm made (also after a failure)."""
        try:
            vm.stop_all(self.settings)
            self.dockerd.destroy()
        finally:
            if self.api is not None:
                self.api.close()
            aio.down(self.settings, purge=True)
            for ns in self.namespaces:
                if ns in pyroute_netns.listnetns():
                    pyroute_netns.remove(ns)

    def _chassis(self) -> list[str]:
        return [self.settings.chassis_name, self.host]

    def _agent(self, chassis: str) -> AgentClient:
        socket = (self.settings.agent_socket if chassis == self.settings.chassis_name
                  else hosts.host_settings(self.settings, chassis).agent_socket)
        return AgentClient(socket, timeout_s=60.0)

    def _netns(self) -> str:
        name = f"ovw-st-{secrets.token_hex(4)}"
        pyroute_netns.create(name)
        self.namespaces.append(name)
        ns_run(name, "ip", "link", "set", "lo", "up")
        return name

    def _ovnet(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "ovnet.cli.main", *args, "--state-dir", str(self.settings.state_dir)],
                              capture_output=True, text=True, timeout=90)

    # -- the workload loop ---------------------------------------------------------------------
    def operate(self) -> None:
        """One random operation; its outcome counted as ok (2xx), failed (an error answer) or lost."""
        ops = [self.op_network, self.op_port, self.op_bind, self.op_tap, self.op_unbind, self.op_delete_port,
               self.op_delete_network, self.op_docker_run, self.op_docker_rm]
        weights = [1, 3, 3, 1, 2, 2, 1, 2, 1]
        op = self.rng.choices(ops, weights)[0]
        name = op.__name__.removeprefix("op_")
        try:
            done = op()
        except (ApiError, *REFUSED):
            self.report.ops[f"{name} failed"] += 1
            return
        except UNCERTAIN:
            self.report.ops[f"{name} lost"] += 1
            return
        self.report.ops[f"{name} {'ok' if done else 'failed'}"] += 1

    def _pick(self, pool) -> str | None:
        items = sorted(pool)
        return self.rng.choice(items) if items else None

    def op_network(self) -> bool:
        self._counter += 1
        net = self.api.create_network(name=f"st-{self._counter}")
        self.expected.networks[net["id"]] = ""
        sub = self.api.create_subnet(network_id=net["id"], ip_version=4,
                                     cidr=f"10.{100 + self._counter // 250}.{self._counter % 250}.0/24")
        self.expected.networks[net["id"]] = sub["id"]
        return True

    def op_port(self) -> bool:
        network = self._pick(n for n, s in self.expected.networks.items() if s)
        if network is None:
            return self.op_network()
        pending = f"port@{network}"  # until answered, the network may hold a port we do not know
        self.expected.uncertain.add(pending)
        port = self.api.create_port(network_id=network, name=f"st-{secrets.token_hex(2)}")
        self.expected.ports[port["id"]] = network
        self.expected.uncertain.discard(pending)
        return True

    def _unbound(self) -> str | None:
        return self._pick(p for p in self.expected.ports if p not in self.expected.bound
                          and p not in self.expected.uncertain)

    def op_bind(self) -> bool:
        port = self._unbound()
        if port is None:
            return self.op_port()
        chassis, ns = self.rng.choice(self._chassis()), self._netns()
        self.expected.uncertain.add(port)
        if self.rng.random() < 0.5:  # the CLI
            done = self._ovnet("port", "bind", port, "--netns", ns, "--host", chassis)
            if done.returncode != 0:
                return False
        else:
            with self._agent(chassis) as agent:
                agent.bind(port, "veth", ns)
        self.expected.uncertain.discard(port)
        self.expected.bound[port] = (chassis, "veth")
        return True

    def op_tap(self) -> bool:
        port = self._unbound()
        if port is None:
            return self.op_port()
        chassis = self.rng.choice(self._chassis())
        self.expected.uncertain.add(port)
        with self._agent(chassis) as agent:
            agent.bind(port, "tap", f"tp{secrets.token_hex(5)}")
        self.expected.uncertain.discard(port)
        self.expected.bound[port] = (chassis, "tap")
        return True

    def op_unbind(self) -> bool:
        port = self._pick(self.expected.bound)
        if port is None:
            return self.op_bind()
        self.expected.uncertain.add(port)
        with self._agent(self.expected.bound[port][0]) as agent:
            agent.unbind(port)
        self.expected.uncertain.discard(port)
        del self.expected.bound[port]
        return True

    def op_delete_port(self) -> bool:
        port = self._pick(p for p in self.expected.ports if p not in self.expected.uncertain)
        if port is None:
            return self.op_port()
        self.expected.uncertain.add(port)
        self.api.delete_port(port)
        self._forget(port)
        return True

    def _forget(self, port: str) -> None:
        self.expected.ports.pop(port, None)
        self.expected.bound.pop(port, None)
        self.expected.uncertain.discard(port)
        self.expected.gone.add(port)

    def op_delete_network(self) -> bool:
        network = self._pick(n for n, s in self.expected.networks.items()
                             if s and not any(net == n for net in self.expected.ports.values())
                             and f"port@{n}" not in self.expected.uncertain)
        if network is None:
            return False
        self.expected.uncertain.add(network)
        self.api.delete_network(network)
        del self.expected.networks[network]
        self.expected.uncertain.discard(network)
        self.expected.gone.add(network)
        return True

    def op_docker_run(self) -> bool:
        name = f"c{secrets.token_hex(4)}"
        self.expected.uncertain.add(name)
        done = self.dockerd.docker("run", "-d", "--name", name, "--network", self.docker_net, "bb:latest",
                                   "sleep", "86400", check=False, timeout=90)
        if done.returncode != 0:
            return False
        self.expected.uncertain.discard(name)
        self.expected.containers.add(name)
        return True

    def op_docker_rm(self) -> bool:
        name = self._pick(self.expected.containers)
        if name is None:
            return self.op_docker_run()
        self.expected.uncertain.add(name)
        done = self.dockerd.docker("rm", "-f", name, check=False, timeout=90)
        if done.returncode != 0:
            return False
        self.expected.containers.discard(name)
        self.expected.uncertain.discard(name)
        return True

    # -- the killer ---------------------------------------------------------------------------------
    def _victims(self) -> dict[str, int]:
        """Live pids of this storm's daemons by "[host/]service" (from their pidfiles)."""
        out = {row.name: row.pid for row in aio.status(self.settings) if row.pid}
        pid = self.dockerd.pid()
        if pid:
            out["dockerd"] = pid
        return {name: pid for name, pid in out.items() if name.rpartition("/")[2] in TARGETS}

    def kill_one(self) -> str | None:
        """SIGKILL one random daemon of this storm; returns its name."""
        victims = self._victims()
        if not victims:
            return None
        name = self.rng.choice(sorted(victims))
        try:
            if name == "dockerd":
                self.dockerd.kill()  # SIGKILL, and reaps its child so a restart is not refused
            else:
                os.kill(victims[name], signal.SIGKILL)
        except ProcessLookupError:
            return None
        self.report.kills[name] += 1
        self.last_kill = time.monotonic()
        return name

    def repair(self) -> None:
        """What a user does after a crash: ``ovnet up``, and restart dockerd if it died."""
        try:
            if self.dockerd.pid() is None:
                self.dockerd.start()
            aio.up(self.settings)
        except Exception as exc:  # noqa: BLE001 - counted; the next repair retries
            self.report.repair_failures.append(f"{type(exc).__name__}: {exc}")

    # -- the run ------------------------------------------------------------------------------------
    def run(self, kills: int, gap_s: tuple[float, float] = (1.0, 4.0), enough: threading.Event | None = None,
            on_kill=None) -> Report:
        """``kills`` SIGKILLs at random gaps while the workload loop runs; then the final checks.
        Setting ``enough`` ends the killing early (the final checks still run); ``on_kill(n, name)``
        is called after each kill's repair."""
        stop = threading.Event()
        enough = enough or threading.Event()

        def killer() -> None:
            done = 0
            while done < kills and not enough.is_set():
                if enough.wait(self.rng.uniform(*gap_s)):
                    break
                name = self.kill_one()
                if name:
                    done += 1
                    self.repair()
                    if on_kill:
                        on_kill(done, name)
            stop.set()

        thread = threading.Thread(target=killer, name="storm-killer", daemon=True)
        thread.start()
        while not stop.is_set():
            self.operate()
        thread.join()
        self.repair()
        self.finish()
        return self.report

    def finish(self, converge_timeout_s: float = 120.0) -> None:
        """Wait for ``ovnet check`` to come clean (timed), then check traffic, Docker and promises."""
        time.sleep(self.settings.agent_sync_interval)  # one reconcile interval
        deadline = time.monotonic() + converge_timeout_s
        found = collect(self.settings)
        while found and time.monotonic() < deadline:
            time.sleep(1.0)
            found = collect(self.settings)
        if not found:
            self.report.converge_s = time.monotonic() - self.last_kill
        self.report.findings += [f"{f['layer']}: {f['problem']}" for f in found]
        if any(f["layer"] == "host" for f in found):
            self.report.details += self._host_details()
        self.report.findings += self._promises() + self._docker() + self._traffic()

    def _host_details(self) -> list[str]:
        """Each host's inventory, its OVS interfaces and its agent log's tail: a host finding is
        gone with the storm's world, so its evidence is kept in the report."""
        out = []
        for chassis in self._chassis():
            host = self.settings if chassis == self.settings.chassis_name else hosts.host_settings(self.settings, chassis)
            with self._agent(chassis) as agent:
                out.append(f"{chassis} inventory {agent.inventory()}")
            listing = subprocess.run(["ovs-vsctl", f"--db=unix:{host.ovs_db_sock}", "--format=csv", "--columns=name,"
                                      "external_ids,ofport,error", "list", "Interface"], capture_output=True, text=True)
            out += [f"{chassis} ovs {line}" for line in listing.stdout.splitlines()]
            log = host.log_dir / "ovnet-agent.log"
            out += [f"{chassis} agent.log {line}" for line in log.read_text(errors="replace").splitlines()[-40:]]
        return out

    def _promises(self) -> list[str]:
        out = []
        ports = {p["id"]: p for p in self.api.list_ports()}
        networks = {n["id"] for n in self.api.list_networks()}
        for net in self.expected.networks:
            if net not in networks and net not in self.expected.uncertain:
                out.append(f"promise: network {net} was created (2xx) but is gone")
        for gone in self.expected.gone:
            if gone in ports or gone in networks:
                out.append(f"promise: {gone} was deleted (2xx) but exists")
        for port in self.expected.ports:
            if port not in ports and port not in self.expected.uncertain:
                out.append(f"promise: port {port} was created (2xx) but is gone")
        for port, (chassis, _kind) in self.expected.bound.items():
            if port in self.expected.uncertain or port not in ports:
                continue
            seen = ports[port]
            if seen["binding:host_id"] != chassis or seen["status"] != "ACTIVE":
                out.append(f"promise: port {port} was bound to {chassis} (2xx) but is "
                           f"{seen['status']} on {seen['binding:host_id'] or 'no host'}")
        for port, seen in ports.items():
            if (port in self.expected.ports and port not in self.expected.bound and port not in self.expected.uncertain
                    and seen["binding:host_id"]):
                out.append(f"promise: port {port} was unbound or never bound but is bound to {seen['binding:host_id']}")
        return out

    def _docker(self) -> list[str]:
        out = []
        running = self.dockerd.docker("ps", "-q", "--no-trunc", "--filter", f"network={self.docker_net}").stdout.split()
        addresses = {}
        for cid in running:
            ip = self.dockerd.docker("inspect", "-f", f"{{{{(index .NetworkSettings.Networks \"{self.docker_net}\").IPAddress}}}}",
                                     cid).stdout.strip()
            addresses[ip] = cid[:12]
        docker_ports = [p for p in self.api.list_ports(device_owner="compute:docker")]
        held = {f["ip_address"]: p for p in docker_ports for f in p["fixed_ips"]}
        for ip, cid in sorted(addresses.items()):
            if ip not in held:
                out.append(f"docker: container {cid} has {ip}, which no port holds")
            elif held[ip]["status"] != "ACTIVE":
                out.append(f"docker: container {cid}'s port {held[ip]['id']} is {held[ip]['status']}")
        for ip, port in sorted(held.items()):
            if ip not in addresses:
                out.append(f"docker: port {port['id']} holds {ip} but no running container has it (leaked)")
        for name in self.expected.containers - self.expected.uncertain:
            state = self.dockerd.docker("inspect", "-f", "{{.State.Running}}", name, check=False).stdout.strip()
            if state != "true":
                out.append(f"docker: container {name} was started (exit 0) but is not running ({state or 'gone'})")
        return out

    def _traffic(self) -> list[str]:
        """Ping every ACTIVE veth/Docker port from a probe port bound on this chassis in its network."""
        out = []
        taps = {p for p, (_host, kind) in self.expected.bound.items() if kind == "tap"}
        by_network: dict[str, list[dict]] = {}
        for port in self.api.list_ports(status="ACTIVE"):
            if port["id"] not in taps and port["fixed_ips"]:
                by_network.setdefault(port["network_id"], []).append(port)
        for network, ports in sorted(by_network.items()):
            probe = self.api.create_port(network_id=network, name="storm-probe")
            ns = self._netns()
            with self._agent(self.settings.chassis_name) as agent:
                agent.bind(probe["id"], "veth", ns)
            for port in ports:
                ip = port["fixed_ips"][0]["ip_address"]
                if not any(ns_run(ns, "ping", "-c", "1", "-W", "2", ip, check=False).returncode == 0
                           for _ in range(3)):
                    out.append(f"traffic: ACTIVE port {port['id']} ({ip}, network {network}) does not answer")
            with self._agent(self.settings.chassis_name) as agent:
                agent.unbind(probe["id"])
            self.api.delete_port(probe["id"])
        return out
