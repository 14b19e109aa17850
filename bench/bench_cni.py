"""CNI: `podman run --rm` on an ovnet network against Debian's reference bridge + host-local, and
ADD alone, in the same run.

A private all-in-one, an ovnet network installed as a CNI network as `ovnet cni install` does it
(network and project by id; ovnet.host.cni.install, into private dirs) and a private Podman 4.3 with the CNI backend (ovnet.testbed.podman) that also sees a
reference network of the Debian package containernetworking-plugins: ``bridge`` (a bridge of its
own, no gateway, no masquerade) with ``host-local`` IPAM. Each round runs, in alternating order,
``podman run --rm --network <net> localhost/bb true`` on both; the medians' ratio is the figure
(goal <= 1.2). Then ``--adds`` ADDs of the installed plugin executable (its start-up included) into
one namespace each, p50/p95, and the plugin's bare start-up (VERSION, no agent). Last, the ports
left on the network once the agent's deletions after the last DELs are done (none should be:
every run and ADD was followed by its DEL) and the load
average at the start and the end (the figures are only comparable at a similar load).

    .venv/bin/python bench/bench_cni.py [--runs 30] [--adds 200]
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import statistics
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from pyroute2 import IPRoute, netns

from ovnet.apiclient import ApiClient
from ovnet.config import Settings
from ovnet.host.cni import install as cni_install
from ovnet.runtime import allinone
from ovnet.runtime.process import free_port
from ovnet.testbed.podman import PrivatePodman


def percentile(samples: list[float], q: float) -> float:
    """The q-quantile (0..1) of samples by nearest rank."""
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]


def reference_conflist(name: str, bridge: str, data_dir: Path) -> dict:
    """bridge + host-local, as podman's own bridge networks are made, minus gateway and NAT."""
    ipam = {"type": "host-local", "ranges": [[{"subnet": "10.231.0.0/24"}]], "dataDir": str(data_dir)}
    return {"cniVersion": "1.0.0", "name": name,
            "plugins": [{"type": "bridge", "bridge": bridge, "isGateway": False, "ipMasq": False, "ipam": ipam}]}


def timed_run(podman: PrivatePodman, network: str) -> float:
    started = time.perf_counter()
    podman.podman("run", "--rm", "--network", network, "localhost/bb", "true")
    return time.perf_counter() - started


def plugin_call(plugin: Path, verb: str, config: dict, cid: str = "", ns: str = "") -> float:
    """Seconds for one exec of the plugin (start-up included); raises on a failed call."""
    env = {"PATH": os.environ.get("PATH", ""), "CNI_COMMAND": verb, "CNI_CONTAINERID": cid, "CNI_NETNS": ns,
           "CNI_IFNAME": "eth0", "CNI_PATH": str(plugin.parent)}
    started = time.perf_counter()
    done = subprocess.run([str(plugin)], input=json.dumps(config).encode(), env=env, capture_output=True)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"{verb} failed: {done.stdout.decode()} {done.stderr.decode()}")
    return elapsed


def adds(plugin: Path, config: dict, count: int) -> list[float]:
    """``count`` ADDs into fresh namespaces (each DELed and removed after timing)."""
    request = {**config["plugins"][0], "name": config["name"], "cniVersion": config["cniVersion"]}
    samples = []
    for i in range(count):
        ns = f"bcni-{secrets.token_hex(3)}"
        netns.create(ns)
        try:
            samples.append(plugin_call(plugin, "ADD", request, f"bench-{i}", f"/run/netns/{ns}"))
            plugin_call(plugin, "DEL", request, f"bench-{i}", f"/run/netns/{ns}")
        finally:
            netns.remove(ns)
    return samples


def ports_left(api: ApiClient, network_id: str, settle_s: float = 10.0) -> list[dict]:
    """The ports left on the network once the agent's deletions that follow answered DELs are
    done (at most ``settle_s`` seconds)."""
    deadline = time.monotonic() + settle_s
    while (left := api.list_ports(network_id=network_id)) and time.monotonic() < deadline:
        time.sleep(0.1)
    return left


@dataclass
class Bed:
    """A bench's set-up: the all-in-one's ``settings``, the ``podman`` seeing both CNI networks,
    their CNI ``names`` ({"ovnet", "bridge"}), the ovnet ``network`` (API JSON), the installed
    ``ovnet_conf`` and the ``plugin`` executable."""

    settings: Settings
    podman: PrivatePodman
    names: dict[str, str]
    network: dict
    ovnet_conf: dict
    plugin: Path


@contextmanager
def bed(prefix: str) -> Iterator[Bed]:
    """A private all-in-one, an ovnet network installed as a CNI network as `ovnet cni install`
    does it (network and project by id, into private dirs), the reference bridge + host-local
    network and a private Podman 4.3 (CNI backend) seeing both; everything is removed on exit."""
    tag = secrets.token_hex(3)
    with tempfile.TemporaryDirectory(prefix=f"ovnet-{prefix}-") as tmp:
        root = Path(tmp)
        settings = Settings(state_dir=root / "state", nb_port=free_port(), sb_port=free_port(), api_port=free_port(),
                            chassis_name=f"{prefix}-{tag}", netns=f"{prefix}-{tag}", docker_plugin=f"{prefix}-{tag}")
        conf_dir, bin_dir, bridge = root / "net.d", root / "bin", f"ovbr{tag}"
        podman = None
        try:
            allinone.up(settings)
            with ApiClient.from_settings(settings) as api:
                net = api.create_network(name=f"{prefix}-{tag}")
                api.create_subnet(network_id=net["id"], cidr="10.232.0.0/22", ip_version=4)
            ovnet_conf = cni_install.conflist(f"ovn-{tag}", net["id"], net["project_id"], settings.agent_socket)
            cni_install.install(ovnet_conf, conf_dir, [bin_dir])
            reference = reference_conflist(f"ref-{tag}", bridge, root / "ipam")
            (conf_dir / f"ref-{tag}.conflist").write_text(json.dumps(reference))
            podman = PrivatePodman(conf_dir, [bin_dir, Path("/usr/lib/cni")])
            podman.import_busybox()
            yield Bed(settings, podman, {"ovnet": ovnet_conf["name"], "bridge": reference["name"]}, net,
                      ovnet_conf, bin_dir / "ovnet")
        finally:
            if podman is not None:
                podman.destroy()
            with IPRoute() as ipr:
                found = ipr.link_lookup(ifname=bridge)
                if found:
                    ipr.link("del", index=found[0])
            allinone.down(settings, purge=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30, help="podman runs per network")
    parser.add_argument("--adds", type=int, default=200, help="timed ADDs of the plugin")
    args = parser.parse_args()
    load_start = os.getloadavg()
    with bed("bench-cni") as b:
        samples: dict[str, list[float]] = {"ovnet": [], "bridge": []}
        timed_run(b.podman, b.names["ovnet"]), timed_run(b.podman, b.names["bridge"])  # warm caches, not counted
        for i in range(args.runs):
            order = ("ovnet", "bridge") if i % 2 == 0 else ("bridge", "ovnet")
            for key in order:
                samples[key].append(timed_run(b.podman, b.names[key]))
        version = [plugin_call(b.plugin, "VERSION", {"cniVersion": "1.0.0"}) for _ in range(50)]
        add = adds(b.plugin, b.ovnet_conf, args.adds)
        with ApiClient.from_settings(b.settings) as api:
            left = ports_left(api, b.network["id"])
    ovnet_med, bridge_med = statistics.median(samples["ovnet"]), statistics.median(samples["bridge"])
    print(f"{'podman run --rm bb true':<40} {'n':>4} {'median ms':>10} {'p90 ms':>8}")
    for key, label in (("ovnet", "ovnet (ovnet-cni -> agent)"), ("bridge", "reference bridge + host-local")):
        print(f"{label:<40} {len(samples[key]):>4} {statistics.median(samples[key]) * 1000:>10.1f} "
              f"{percentile(samples[key], 0.9) * 1000:>8.1f}")
    print(f"median ratio ovnet / reference: {ovnet_med / bridge_med:.2f} (goal <= 1.2)")
    print(f"ADD alone (plugin start-up included), n={len(add)}: p50 {percentile(add, 0.5) * 1000:.1f} ms, "
          f"p95 {percentile(add, 0.95) * 1000:.1f} ms")
    print(f"plugin start-up (VERSION, no agent), n={len(version)}: p50 {percentile(version, 0.5) * 1000:.1f} ms, "
          f"p95 {percentile(version, 0.95) * 1000:.1f} ms")
    print(f"ports left on the ovnet network: {len(left)}")
    print(f"load average (1, 5, 15 min) at the start {', '.join(f'{v:.1f}' for v in load_start)}, "
          f"at the end {', '.join(f'{v:.1f}' for v in os.getloadavg())}")

if __name__ == "__main__":
    main()
