"""VM boot on an ovnet network: QEMU start -> OVN DHCP lease -> first ping, with the extracted ELF
vmlinux against the package's compressed bzImage (the baseline), in the same run.

A private all-in-one, one network with a namespace workload bound by veth; each round boots the
test VM (``ovnet.testbed.vm.run``, port bound as a tap first) with one kernel, then the other, in
alternating order, and times from QEMU's start to the lease line on its console and to the first
ping answered from the namespace. Prints medians per kernel and the ratio bzImage / vmlinux.

    .venv/bin/python bench/bench_vm_boot.py [--runs 5]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from pyroute2 import netns

from ovnet.apiclient import ApiClient
from ovnet.config import Settings
from ovnet.host.agentclient import AgentClient
from ovnet.runtime import allinone
from ovnet.runtime.process import free_port
from ovnet.testbed import qemu
from ovnet.testbed import vm as vms
from ovnet.testbed.initscript import LINE_LEASE
from ovnet.testbed.vmimage import build_image

VM_IP = "10.249.0.10"


def first_ping(ns: str, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done = subprocess.run(["nsenter", f"--net=/run/netns/{ns}", "ping", "-n", "-q", "-c1", "-W1", VM_IP],
                              capture_output=True, check=False)
        if done.returncode == 0:
            return
    raise SystemExit(f"{VM_IP} never answered a ping")


def boot(settings: Settings, ns: str, port_id: str, compressed: bool, index: int) -> tuple[float, float]:
    """(seconds to the DHCP lease, seconds to the first ping), both from QEMU's start."""
    record = vms.run(settings, f"bench-{index}", port_id, compressed=compressed)
    started = time.monotonic()
    try:
        if qemu.wait_console(Path(record.console), LINE_LEASE, 120.0) is None:
            raise SystemExit(f"no lease; see {record.console}")
        leased = time.monotonic() - started
        first_ping(ns)
        return leased, time.monotonic() - started
    finally:
        vms.remove(settings, record.name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="boots per kernel")
    args = parser.parse_args()
    tag = f"{time.time_ns() % 0xFFFFFF:06x}"
    ns = f"ovbw-{tag}"
    with tempfile.TemporaryDirectory(prefix="ovb-") as tmp:
        settings = Settings(state_dir=Path(tmp) / "state", nb_port=free_port(), sb_port=free_port(),
                            api_port=free_port(), chassis_name=f"ovb-{tag}", netns=f"ovb-{tag}")
        try:
            build_image(settings.cache_dir)
            allinone.up(settings)
            netns.create(ns)
            with ApiClient.from_settings(settings) as api, AgentClient(settings.agent_socket) as agent:
                net = api.create_network(name="bench")
                subnet = api.create_subnet(network_id=net["id"], cidr="10.249.0.0/24", ip_version=4)
                fixed = [{"subnet_id": subnet["id"], "ip_address": "10.249.0.20"}]
                agent.bind(api.create_port(network_id=net["id"], fixed_ips=fixed)["id"], "veth", ns)
                vm_port = api.create_port(network_id=net["id"],
                                          fixed_ips=[{"subnet_id": subnet["id"], "ip_address": VM_IP}])["id"]
            samples: dict[str, list[tuple[float, float]]] = {"vmlinux": [], "bzImage": []}
            for i in range(args.runs):
                order = ("vmlinux", "bzImage") if i % 2 == 0 else ("bzImage", "vmlinux")
                for kernel in order:
                    samples[kernel].append(boot(settings, ns, vm_port, kernel == "bzImage", i))
        finally:
            vms.stop_all(settings)
            if ns in netns.listnetns():
                netns.remove(ns)
            allinone.down(settings, purge=True)
    medians = {k: (statistics.median(s[0] for s in v), statistics.median(s[1] for s in v))
               for k, v in samples.items()}
    for kernel, (lease, ping) in medians.items():
        print(f"{kernel:8} QEMU start -> DHCP lease median {lease:.2f} s, -> first ping median {ping:.2f} s "
              f"({args.runs} boots)")
    print(f"ratio bzImage / vmlinux: lease {medians['bzImage'][0] / medians['vmlinux'][0]:.2f}x, "
          f"first ping {medians['bzImage'][1] / medians['vmlinux'][1]:.2f}x")


if __name__ == "__main__":
    main()
