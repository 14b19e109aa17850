"""Routers and floating IPs on a private all-in-one (plus two hosts for the failover):

- floating IP create -> first reply from the outside host: ``floating ip create --port`` through
  the API, then single pings from the public namespace until one is answered; p50/p95 over N
  floating IPs (created, measured and deleted one after another on one workload);
- north-south TCP throughput (outside host -> floating IP, through the gateway router, SNAT/DNAT,
  MTU 1500 outside / 1442 inside) as a ratio to east-west (two workloads of one network on the
  same chassis), measured in the same run, interleaved;
- gateway failover: three chassis map the public network; SIGKILL the active gateway chassis'
  ovn-controller and ovs-vswitchd while the outside host pings a floating IP every 50 ms; the
  outage is the gap in replies (goal <= 3 s).

    .venv/bin/python bench/bench_routing.py [--fips 50] [--megabytes 64] [--rounds 3] [--no-failover]
"""

from __future__ import annotations

import argparse
import os
import secrets
import signal
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from pyroute2 import netns

from ovnet.apiclient import ApiClient
from ovnet.config import Settings
from ovnet.host.agentclient import AgentClient
from ovnet.runtime import allinone, hosts
from ovnet.runtime.chassis import chassis_services, local_chassis
from ovnet.runtime.process import free_port, wait_until
from ovnet.testbed import workload
from ovnet.testbed.pinglog import PingLog, first_reply_s


class Scene:
    """The public network, one router with its gateway, one inside network, workloads in netns."""

    def __init__(self, settings: Settings, api: ApiClient):
        self.settings, self.api, self.ns = settings, api, []
        self.ext = api.create_network(name="public", **{"router:external": True, "provider:network_type": "flat",
                                                        "provider:physical_network": "public"})
        api.create_subnet(network_id=self.ext["id"], cidr="10.50.50.0/24", ip_version=4, enable_dhcp=False,
                          allocation_pools=[{"start": "10.50.50.10", "end": "10.50.50.250"}])
        self.router = api.create("router", "routers", {"name": "bench",
                                                       "external_gateway_info": {"network_id": self.ext["id"]}})
        self.net = api.create_network(name="inside")
        sub = api.create_subnet(network_id=self.net["id"], cidr="192.168.1.0/24", ip_version=4)
        api.request("PUT", f"/v2.0/routers/{self.router['id']}/add_router_interface", json={"subnet_id": sub["id"]})
        self.gw_port = api.list_ports(device_owner="network:router_gateway")[0]["id"]
        # A floating IP is closed by default (security groups): the workloads' group lets the outside in.
        self.group = api.create("security_group", "security-groups", {"name": "outside"})
        for proto in ("icmp", "tcp"):
            api.create("security_group_rule", "security-group-rules",
                       {"security_group_id": self.group["id"], "direction": "ingress", "protocol": proto})

    def workload(self, name: str, on: Settings) -> tuple[str, dict]:
        ns = f"br-{name}-{secrets.token_hex(3)}"
        netns.create(ns)
        self.ns.append(ns)
        port = self.api.create_port(network_id=self.net["id"], security_groups=[self.group["id"]])
        with AgentClient(on.agent_socket) as agent:
            agent.bind(port["id"], "veth", ns)
        workload.echo_server(ns, name, self.settings.run_dir).start()
        return ns, port

    def fip(self, port: dict) -> dict:
        return self.api.create("floatingip", "floatingips", {"floating_network_id": self.ext["id"],
                                                             "port_id": port["id"]})

    def close(self) -> None:
        for ns in self.ns:
            if ns in netns.listnetns():
                netns.remove(ns)  # the echo server exits with its namespace


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def fip_latency(scene: Scene, count: int) -> str:
    _ns, port = scene.workload("fipw", scene.settings)
    times = []
    for _ in range(count):
        started = time.monotonic()
        fip = scene.fip(port)
        reply = first_reply_s(scene.settings.public_netns, fip["floating_ip_address"], timeout=20.0)
        if reply is None:
            raise RuntimeError(f"floating IP {fip['floating_ip_address']} never answered")
        times.append(time.monotonic() - started)
        scene.api.delete("floatingips", fip["id"])
    ms = [t * 1000 for t in times]
    return (f"floating IP create -> first reply from outside, {count} floating IPs: "
            f"p50 {_pct(ms, 0.5):.0f} ms, p95 {_pct(ms, 0.95):.0f} ms, max {max(ms):.0f} ms")


def throughput(scene: Scene, megabytes: int, rounds: int) -> str:
    a_ns, _a = scene.workload("ewa", scene.settings)
    _b_ns, b = scene.workload("ewb", scene.settings)
    b_ip = b["fixed_ips"][0]["ip_address"]
    fip = scene.fip(b)["floating_ip_address"]
    assert first_reply_s(scene.settings.public_netns, fip, timeout=20.0) is not None
    size = megabytes * 1024 * 1024
    ew, ns = [], []
    for _ in range(rounds):
        ew.append(size * 8 / workload.send(a_ns, b_ip, size)["seconds"] / 1e9)
        ns.append(size * 8 / workload.send(scene.settings.public_netns, fip, size)["seconds"] / 1e9)
    ew_m, ns_m = statistics.median(ew), statistics.median(ns)
    return (f"TCP {megabytes} MB x {rounds}: east-west same chassis (baseline) {ew_m:.2f} Gbit/s, "
            f"north-south outside->floating IP {ns_m:.2f} Gbit/s, ratio {ns_m / ew_m:.2f}")


def active_gateway(settings: Settings, gw_port: str) -> str | None:
    sb = ["ovn-sbctl", f"--db={settings.sb_connection}", "--bare"]
    uuid = subprocess.run([*sb, "--columns=chassis", "find", "Port_Binding", f"logical_port=cr-lrp-{gw_port}"],
                          capture_output=True, text=True, check=True).stdout.strip()
    return subprocess.run([*sb, "--columns=name", "list", "Chassis", uuid], capture_output=True, text=True,
                          check=True).stdout.strip() if uuid else None


def failover(scene: Scene, names: list[str]) -> str:
    settings = scene.settings
    chassis = {s.chassis_name: s for s in [settings, *(hosts.host_settings(settings, n) for n in names)]}
    wait_until(lambda: None if active_gateway(settings, scene.gw_port) else "unbound", 15.0)
    active = active_gateway(settings, scene.gw_port)
    survivor = next(s for n, s in chassis.items() if n != active)
    _ns, port = scene.workload("haw", survivor)
    fip = scene.fip(port)["floating_ip_address"]
    assert first_reply_s(settings.public_netns, fip, timeout=20.0) is not None
    ping = PingLog(settings.public_netns, fip)
    time.sleep(2.0)
    killed_at = time.time()
    _db, vswitchd, controller = chassis_services(local_chassis(chassis[active]))
    for svc in (controller, vswitchd):
        os.kill(svc.pid(), signal.SIGKILL)
    time.sleep(15.0)
    ping.stop()
    outage = ping.outage_after(killed_at)
    moved = active_gateway(settings, scene.gw_port)
    if outage is None:
        return f"gateway failover: replies did not resume within 15 s (active {active} -> {moved})"
    return f"gateway failover outage: {outage:.2f} s (active {active} -> {moved}; goal <= 3 s)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fips", type=int, default=50)
    parser.add_argument("--megabytes", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-failover", action="store_true")
    args = parser.parse_args()
    tag = secrets.token_hex(3)
    state = Path(tempfile.mkdtemp(prefix="ovnet-bench-routing-"))
    settings = Settings(state_dir=state / "state", nb_port=free_port(), sb_port=free_port(), api_port=free_port(),
                        chassis_name=f"obr-{tag}", netns=f"obr-{tag}", docker_plugin=f"obr-{tag}",
                        public_netns=f"obr-pub-{tag}")
    names = [f"hb{tag[:4]}{i}" for i in (2, 3)]
    try:
        allinone.up(settings)
        if not args.no_failover:
            for name in names:
                hosts.add(settings, name)
        with ApiClient.from_settings(settings) as api:
            scene = Scene(settings, api)
            try:
                print(fip_latency(scene, args.fips), flush=True)
                print(throughput(scene, args.megabytes, args.rounds), flush=True)
                if not args.no_failover:
                    print(failover(scene, names), flush=True)
            finally:
                scene.close()
    finally:
        allinone.down(settings, purge=True)


if __name__ == "__main__":
    main()
