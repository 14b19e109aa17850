"""Where the time of one bind goes: each step of the attach path timed on its own, in-process.

A private all-in-one; an AttachService in this process on its chassis (the agent's code, without
the agent's socket). For ``--ports`` ports it times, per port: the API port create (it waits for NB
to confirm), the old path's separate round-trips (``update_port`` of binding:host_id, which waits
for NB again; ``show_network``; ``list_subnets``) on a throw-away port, the attach path's one
``bind_host`` call, the plug (and, inside it, each setns thread, the OVSDB add-port transaction
and the workload's netlink configuration) and the wait for ``ovn-installed``. Prints p50/p95/mean
per step in ms.

    .venv/bin/python bench/profile_bind.py [--ports 30]
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import secrets
import statistics
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from pyroute2 import netns

from ovnet.apiclient import ApiClient
from ovnet.config import Settings
from ovnet.host import addressing, nsutil
from ovnet.host.attach import AttachService
from ovnet.host.ovs import LocalOvs
from ovnet.host.vif import HostContext
from ovnet.runtime import allinone
from ovnet.runtime.process import free_port

TIMES: dict[str, list[float]] = defaultdict(list)


def timed(name: str, fn):
    """``fn`` wrapped so each call's wall time lands in TIMES[name]."""
    def wrapper(*args, **kwargs):
        started = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            TIMES[name].append(time.perf_counter() - started)
    return wrapper


def instrument(service: AttachService) -> None:
    ovs = service.host.ovs
    ovs.add_port = timed("  plug: OVSDB add-port + ofport check", ovs.add_port)
    ovs.wait_installed = timed("wait ovn-installed", ovs.wait_installed)
    service.api.bind_port_host = timed("bind_host (1 round-trip, no NB wait)", service.api.bind_port_host)
    plugin = service.plugin("veth")
    plugin.plug = timed("plug (veth, total)", plugin.plug)
    nsutil.netns_socket = timed("  plug: setns thread per socket", nsutil.netns_socket)
    addressing.configure = timed("  plug: workload addresses/routes", addressing.configure)


def run(settings: Settings, count: int, profiler: cProfile.Profile | None) -> None:
    ns = f"prof-{secrets.token_hex(3)}"
    netns.create(ns)
    api = ApiClient.from_settings(settings)
    ovs = LocalOvs(settings.ovs_db_sock, settings.bridge)
    host = HostContext(ovs=ovs, netns=settings.netns, datapath=ovs.datapath_type())
    service = AttachService(host, api, settings.chassis_name, settings.bind_timeout)
    instrument(service)
    network = api.create_network(name="profile")
    subnet = api.create_subnet(network_id=network["id"], cidr="10.198.0.0/22", ip_version=4)
    ports: list[str] = []
    try:
        for i in range(count):
            started = time.perf_counter()
            other = api.create_port(network_id=network["id"], fixed_ips=[{"subnet_id": subnet["id"]}])
            TIMES["API create_port (waits for NB)"].append(time.perf_counter() - started)
            ports.append(other["id"])
            timed("old: update_port host_id (waits for NB)", api.update_port)(
                other["id"], **{"binding:host_id": settings.chassis_name})
            timed("old: show_network", api.show_network)(network["id"])
            timed("old: list_subnets", api.list_subnets)(id=[subnet["id"]])
            api.update_port(other["id"], **{"binding:host_id": ""})
            port = api.create_port(network_id=network["id"], fixed_ips=[{"subnet_id": subnet["id"]}])
            ports.append(port["id"])
            if profiler is not None:
                profiler.enable()
            timed("attach total", service.attach)(port["id"], "veth", ns, ifname=f"p{i}")
            if profiler is not None:
                profiler.disable()
    finally:
        for port_id in ports:
            service.detach(port_id, unbind=False)
            api.delete_port(port_id)
        api.delete_network(network["id"])
        netns.remove(ns)
        ovs.close()
        api.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ports", type=int, default=30)
    parser.add_argument("--cprofile", type=int, default=0, help="also print the N costliest functions of attach")
    args = parser.parse_args()
    profiler = cProfile.Profile() if args.cprofile else None
    with tempfile.TemporaryDirectory(prefix="ovnet-prof-") as tmp:
        tag = secrets.token_hex(3)
        settings = Settings(state_dir=Path(tmp) / "state", nb_port=free_port(), sb_port=free_port(),
                            api_port=free_port(), chassis_name=f"prof-{tag}", netns=f"prof-{tag}")
        try:
            allinone.up(settings)
            run(settings, args.ports, profiler)
        finally:
            allinone.down(settings, purge=True)
    print(f"{'step':<44}{'n':>5}{'p50 ms':>9}{'p95 ms':>9}{'mean ms':>9}")
    for name, values in TIMES.items():
        ordered = sorted(values)
        p95 = ordered[min(len(ordered) - 1, round(0.95 * len(ordered)) - 1)]
        print(f"{name:<44}{len(values):>5}{statistics.median(values) * 1000:>9.1f}{p95 * 1000:>9.1f}"
              f"{statistics.mean(values) * 1000:>9.1f}")
    if profiler is not None:
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(args.cprofile)


if __name__ == "__main__":
    main()
