"""Where a CNI ADD and DEL spend their time: the plugin executable's start-up and the agent socket,
each API round trip, the veth plug, the ovn-installed wait, the unplug.

A private all-in-one and one ovnet network. Three measures, ``--n`` requests each:

1. the installed ``ovnet-cni`` executable (start-up included) through the all-in-one's agent: ADD
   and DEL wall time, and VERSION (start-up alone, no agent);
2. the agent's CNI service in this process (ovnet.host.agent.build, the agent's own wiring), with
   every API call, plug, unplug and ovn-installed wait timed; per request, the phases' sums;
3. the difference of the medians of 1 and 2: what the executable, the socket and the agent's
   HTTP layer add.

With ``--pool N`` the network is installed with a pool of N ready ports (ovnet.host.cni.pool) and
every ADD starts with a full pool (waited for untimed), so each takes a ready port: the ADD is
then a bind_host write and the read of the attachment's ports beside the unpark (the parked end
moved into the namespace, its addresses set there). The pool's own refills (its ``cni-pool``
thread) are not counted in any request. What an answered DEL left to do (the API delete, the
veth's deletion) runs into the next request and is shown there ("after last DEL"), not summed.
Phases run in parallel threads are each summed, so the "rest" line can go below zero when they
overlap.

    .venv/bin/python bench/profile_cni.py [--n 40] [--pool 0]
"""

from __future__ import annotations

import argparse
import json
import re
import secrets
import statistics
import tempfile
import threading
import time
from collections import defaultdict
from contextlib import contextmanager
from pathlib import Path

from pyroute2 import netns

from bench_cni import percentile, plugin_call, pool_full  # bench/ is the script's own dir on sys.path
from ovnet.apiclient import ApiClient
from ovnet.config import Settings
from ovnet.host import addressing, nsutil
from ovnet.host import agent as agent_mod
from ovnet.host.cni import install as cni_install
from ovnet.host.ovs import LocalOvs
from ovnet.host.vif import Vif, VethVif
from ovnet.runtime import allinone
from ovnet.runtime.process import free_port

INSIDE = "  in "  # labels of steps inside another timed step (not summed twice)
POOL_THREAD = "cni-pool"  # ovnet.host.cni.pool.PortPool's filler thread
DEL_THREAD = "cni-del"  # ovnet.host.cni.service.CniService's, finishing answered DELs
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


class Phases:
    """Seconds per phase label within the current request."""

    def __init__(self) -> None:
        self.current: dict[str, float] = defaultdict(float)

    def wrap(self, owner: type, name: str, label) -> None:
        """Time ``owner.name``; ``label(*args)`` names the phase of one call."""
        original = getattr(owner, name)

        def timed(*args, **kwargs):
            started = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                thread = threading.current_thread().name
                # The pool's refill is no request's work (it runs between them, in its own thread);
                # what an answered DEL left to do runs on into the next request: named as such.
                if thread.startswith(DEL_THREAD):
                    self.current[f"{INSIDE}after last DEL: {label(*args).removeprefix(INSIDE)}"] += \
                        time.perf_counter() - started
                elif not thread.startswith(POOL_THREAD):
                    self.current[label(*args)] += time.perf_counter() - started
        setattr(owner, name, timed)

    @contextmanager
    def request(self, into: list[dict[str, float]]):
        self.current = defaultdict(float)
        started = time.perf_counter()
        yield
        self.current["total"] = time.perf_counter() - started
        into.append(dict(self.current))
        self.current = defaultdict(float)  # what runs between requests lands in no request


def api_label(_client, method: str, path: str, **_kwargs) -> str:
    return f"API {method} {UUID.sub('{id}', path.split('?')[0])}"


def table(title: str, rows: list[dict[str, float]]) -> None:
    labels = sorted({k for r in rows for k in r if k != "total"}, key=lambda k: -statistics.median(
        [r.get(k, 0.0) for r in rows]))
    print(f"\n{title} (n={len(rows)})        median ms   p95 ms")
    for label in ["total", *labels]:
        values = [r.get(label, 0.0) * 1000 for r in rows]
        print(f"  {label:<44} {statistics.median(values):>8.1f} {percentile(values, 0.95):>8.1f}")
    other = [(r["total"] - sum(v for k, v in r.items() if k != "total" and not k.startswith(INSIDE))) * 1000
             for r in rows]
    print(f"  {'(agent-side rest: parsing, result, locks)':<44} {statistics.median(other):>8.1f}")


def ready_ports(pool, size: int, timeout: float = 60.0) -> None:
    """Wait until ``pool`` (a PortPool) holds ``size`` ready ports."""
    deadline = time.monotonic() + timeout
    while len(pool.held()) < size:
        if time.monotonic() > deadline:
            raise RuntimeError(f"the agent's pool did not fill to {size} ready ports within {timeout:g} s")
        time.sleep(0.005)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=40, help="requests per measure")
    parser.add_argument("--pool", type=int, default=0, help="ready ports per pool (0: no pool)")
    args = parser.parse_args()
    tag = secrets.token_hex(3)
    with tempfile.TemporaryDirectory(prefix="ovnet-prof-cni-") as tmp:
        root = Path(tmp)
        settings = Settings(state_dir=root / "state", nb_port=free_port(), sb_port=free_port(), api_port=free_port(),
                            chassis_name=f"prof-{tag}", netns=f"prof-{tag}", docker_plugin=f"prof-{tag}",
                            public_netns=f"prof-pub-{tag}", agent_sync_interval=3600.0)
        made: list[str] = []

        def fresh_ns() -> str:
            made.append(f"pcni-{secrets.token_hex(3)}")
            netns.create(made[-1])
            return f"/run/netns/{made[-1]}"
        try:
            allinone.up(settings)
            with ApiClient.from_settings(settings) as api:
                net = api.create_network(name=f"prof-cni-{tag}")
                api.create_subnet(network_id=net["id"], cidr="10.233.0.0/22", ip_version=4)
            conf = cni_install.conflist(f"ovp-{tag}", net["id"], net["project_id"], settings.agent_socket, args.pool)
            cni_install.install(conf, root / "net.d", [root / "bin"])
            request = {**conf["plugins"][0], "name": conf["name"], "cniVersion": conf["cniVersion"]}
            plugin = root / "bin" / "ovnet"
            execs: dict[str, list[float]] = {"VERSION": [], "ADD": [], "DEL": []}
            if args.pool:  # an untimed ADD asks the agent for its pool
                warm = fresh_ns()
                plugin_call(plugin, "ADD", request, "exec-warm", warm)
                plugin_call(plugin, "DEL", request, "exec-warm", warm)
            for i in range(args.n):
                execs["VERSION"].append(plugin_call(plugin, "VERSION", {"cniVersion": "1.0.0"}))
                ns = fresh_ns()
                if args.pool:
                    with ApiClient.from_settings(settings) as api:
                        pool_full(api, net["id"], args.pool)
                execs["ADD"].append(plugin_call(plugin, "ADD", request, f"exec-{i}", ns))
                execs["DEL"].append(plugin_call(plugin, "DEL", request, f"exec-{i}", ns))

            phases = Phases()
            phases.wrap(ApiClient, "_call", api_label)
            phases.wrap(VethVif, "plug", lambda *_: "plug (veth, OVS port)")
            phases.wrap(Vif, "unplug", lambda *_: "unplug")
            phases.wrap(LocalOvs, "wait_installed", lambda *_: "ovn-installed wait")
            phases.wrap(LocalOvs, "add_port", lambda *_: f"{INSIDE}plug: OVS add_port")
            phases.wrap(VethVif, "_configure_workload", lambda *_: f"{INSIDE}plug: workload end configured")
            phases.wrap(VethVif, "unpark", lambda *_: "unpark (end moved into the netns, configured)")
            phases.wrap(addressing, "configure", lambda *_: f"{INSIDE}plug/unpark: addresses and routes set")
            phases.wrap(LocalOvs, "set_target", lambda *_: f"{INSIDE}unpark: OVS target recorded")
            phases.wrap(LocalOvs, "del_port", lambda *_: f"{INSIDE}plug/unplug: OVS del_port")
            phases.wrap(Vif, "delete_device", lambda *_: f"{INSIDE}unplug: veth deleted")
            phases.wrap(nsutil, "_in_netns", lambda *_: f"{INSIDE}setns threads (sockets, sysctl, ethtool)")
            token = settings.admin_token_file.read_text().strip()
            parts = agent_mod.build(settings, token)
            inproc: dict[str, list[dict[str, float]]] = {"ADD": [], "DEL": []}

            def add_del(cid: str, timed: bool) -> None:
                env = {"CNI_CONTAINERID": cid, "CNI_NETNS": fresh_ns(), "CNI_IFNAME": "eth0",
                       "CNI_PATH": str(plugin.parent)}
                for verb in ("ADD", "DEL"):
                    with phases.request(inproc[verb] if timed else []):
                        parts.cni.handle(verb, {**env, "CNI_COMMAND": verb}, json.loads(json.dumps(request)), None)
            try:
                if args.pool:  # an untimed ADD asks this service for its own pool
                    add_del("inproc-warm", timed=False)
                for i in range(args.n):
                    if args.pool:
                        ready_ports(parts.cni.pool, args.pool)
                    add_del(f"inproc-{i}", timed=True)
            finally:
                parts.cni.close()
                parts.admin.close()
                parts.service.host.ovs.close()
            with ApiClient.from_settings(settings) as api:
                left = api.list_ports(network_id=net["id"], device_owner="compute:cni")
        finally:
            for name in made:
                if name in netns.listnetns():
                    netns.remove(name)
            allinone.down(settings, purge=True)
    print(f"{'executable (start-up + agent socket + agent)':<46} median ms   p95 ms")
    for verb, samples in execs.items():
        ms = [s * 1000 for s in samples]
        print(f"  {verb:<44} {statistics.median(ms):>8.1f} {percentile(ms, 0.95):>8.1f}")
    for verb in ("ADD", "DEL"):
        table(f"agent CNI service in-process, {verb}", inproc[verb])
        outside = statistics.median(execs[verb]) - statistics.median([r["total"] for r in inproc[verb]])
        print(f"  {'executable + socket + HTTP layer (difference)':<44} {outside * 1000:>8.1f}")
    print(f"\nCNI ports left on the network: {len(left)}")


if __name__ == "__main__":
    main()
