"""CNI: `podman run --rm` on ovnet against Debian's bridge + host-local, and ADD alone, in one run.

A private all-in-one, one ovnet network installed twice as a CNI network as `ovnet cni install`
does it (network and project by id; ovnet.host.cni.install, into private dirs): ``ovnet-pool``
with a pool of ``--pool`` ready ports (ovnet.host.cni.pool) and ``ovnet`` without, and a private
Podman 4.3 with the CNI backend (ovnet.testbed.podman) that also sees a reference network of the
Debian package containernetworking-plugins: ``bridge`` (a bridge of its own, no gateway, no
masquerade) with ``host-local`` IPAM. For each of the two ovnet networks in turn, with only it
installed beside the reference (podman runs every installed plugin's VERSION at every command),
``--runs`` rounds run ``podman run --rm --network <net> localhost/bb true`` on it and on the
reference, in alternating order; the medians' ratio is the figure (goal <= 1.2). Before every
timed run the pool is full: it is refilled 1 s after a take, between container starts, and its
refill time (from the end of the run that took a port until the pool is full again) is printed
on its own; no run pays for it.
Then ``--adds`` ADDs of the installed plugin executable (its start-up included) into one namespace
each, p50/p95, with and without the pool, and the plugin's bare start-up (VERSION, no agent).
Last, the ports left: workload ports on the network once the agent's deletions after the last
DELs are done (none should be: every run and ADD was followed by its DEL), then ports of any kind
once the network is deleted (its ready ports go with it), and the load average at the start and
the end (the figures are only comparable at a similar load).

    .venv/bin/python bench/bench_cni.py [--runs 30] [--adds 200] [--pool 4]
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
from ovnet.host.cni.protocol import POOL_DEVICE_OWNER
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


def adds(plugin: Path, config: dict, count: int, before=None) -> list[float]:
    """``count`` ADDs into fresh namespaces (each DELed and removed after timing); ``before(i)`` is
    called ahead of the i-th, untimed."""
    request = {**config["plugins"][0], "name": config["name"], "cniVersion": config["cniVersion"]}
    samples = []
    for i in range(count):
        ns = f"bcni-{secrets.token_hex(3)}"
        netns.create(ns)
        try:
            if before is not None:
                before(i)
            samples.append(plugin_call(plugin, "ADD", request, f"bench-{i}", f"/run/netns/{ns}"))
            plugin_call(plugin, "DEL", request, f"bench-{i}", f"/run/netns/{ns}")
        finally:
            netns.remove(ns)
    return samples


def ports_left(api: ApiClient, network_id: str, settle_s: float = 10.0) -> list[dict]:
    """The workload ports (not the pool's) left on the network once the agent's deletions that
    follow answered DELs are done (at most ``settle_s`` seconds)."""
    deadline = time.monotonic() + settle_s
    while (left := workload_ports(api, network_id)) and time.monotonic() < deadline:
        time.sleep(0.1)
    return left


def workload_ports(api: ApiClient, network_id: str) -> list[dict]:
    return [p for p in api.list_ports(network_id=network_id) if p["device_owner"] != POOL_DEVICE_OWNER]


def pool_full(api: ApiClient, network_id: str, size: int, timeout: float = 60.0, poll_s: float = 0.005) -> float:
    """Wait until the network's pool holds ``size`` ready (ACTIVE) ports, reading the API every
    ``poll_s`` seconds; the seconds waited."""
    started = time.perf_counter()
    while True:
        ready = api.list_ports(network_id=network_id, device_owner=POOL_DEVICE_OWNER)
        if len(ready) >= size and all(p["status"] == "ACTIVE" for p in ready):
            return time.perf_counter() - started
        if time.perf_counter() - started > timeout:
            raise RuntimeError(f"the pool did not refill to {size} ready ports within {timeout:g} s")
        time.sleep(poll_s)


@dataclass
class Bed:
    """A bench's set-up: the all-in-one's ``settings``, the ``podman`` seeing the CNI networks,
    their CNI ``names`` ({"ovnet", "ovnet-pool", "bridge"}), the ovnet ``network`` (API JSON), the
    installed ``confs`` ({"ovnet", "ovnet-pool"}), the ``pool_size`` and the ``plugin`` executable."""

    settings: Settings
    podman: PrivatePodman
    names: dict[str, str]
    network: dict
    confs: dict[str, dict]
    pool_size: int
    plugin: Path
    conf_dir: Path

    def only(self, key: str) -> None:
        """Leave the conflist of ``key`` ("ovnet" or "ovnet-pool") the only ovnet one podman sees:
        podman calls VERSION on every plugin of every network it finds, at every command (cni.md
        B.4), so a second ovnet network would add Python start-ups to every run, the reference's
        too."""
        for other, conf in self.confs.items():
            if other == key:
                cni_install.install(conf, self.conf_dir, [])
            else:
                cni_install.conflist_path(self.conf_dir, conf["name"]).unlink(missing_ok=True)


@contextmanager
def bed(prefix: str, pool_size: int = 2) -> Iterator[Bed]:
    """A private all-in-one, an ovnet network installed as two CNI networks as `ovnet cni install`
    does it (network and project by id, into private dirs; the second with ``pool_size`` ready
    ports), the reference bridge + host-local network and a private Podman 4.3 (CNI backend)
    seeing all three; everything is removed on exit."""
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
            confs = {key: cni_install.conflist(f"{short}-{tag}", net["id"], net["project_id"], settings.agent_socket,
                                               size)
                     for key, short, size in (("ovnet", "ovn", 0), ("ovnet-pool", "ovp", pool_size))}
            for conf in confs.values():
                cni_install.install(conf, conf_dir, [bin_dir])
            reference = reference_conflist(f"ref-{tag}", bridge, root / "ipam")
            (conf_dir / f"ref-{tag}.conflist").write_text(json.dumps(reference))
            podman = PrivatePodman(conf_dir, [bin_dir, Path("/usr/lib/cni")])
            podman.import_busybox()
            names = {key: conf["name"] for key, conf in confs.items()} | {"bridge": reference["name"]}
            yield Bed(settings, podman, names, net, confs, pool_size, bin_dir / "ovnet", conf_dir)
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
    parser.add_argument("--adds", type=int, default=200, help="timed ADDs of the plugin, with and without the pool")
    parser.add_argument("--pool", type=int, default=4, help="ready ports of the ovnet-pool network")
    args = parser.parse_args()
    load_start = os.getloadavg()
    samples: dict[str, dict[str, list[float]]] = {}  # {ovnet key: {"ovnet": runs, "bridge": runs}}
    refills: list[float] = []
    with bed("bench-cni", args.pool) as b, ApiClient.from_settings(b.settings) as api:
        for key in ("ovnet-pool", "ovnet"):  # one after the other, each against the reference
            b.only(key)
            runs = samples[key] = {"ovnet": [], "bridge": []}
            timed_run(b.podman, b.names[key]), timed_run(b.podman, b.names["bridge"])  # warm caches, not counted
            for i in range(args.runs):
                for which in (("ovnet", "bridge") if i % 2 == 0 else ("bridge", "ovnet")):
                    pool_full(api, b.network["id"], args.pool)
                    runs[which].append(timed_run(b.podman, b.names[key if which == "ovnet" else "bridge"]))
                    if which == "ovnet" and key == "ovnet-pool":  # from the end of the run that took a port
                        refills.append(pool_full(api, b.network["id"], args.pool))
        version = [plugin_call(b.plugin, "VERSION", {"cniVersion": "1.0.0"}) for _ in range(50)]
        # A full pool before every pool-size ADDs (each takes one): none of them waits on a refill.
        add = {"ovnet-pool": adds(b.plugin, b.confs["ovnet-pool"], args.adds,
                                  lambda i: i % args.pool or pool_full(api, b.network["id"], args.pool)),
               "ovnet": adds(b.plugin, b.confs["ovnet"], args.adds)}
        left = ports_left(api, b.network["id"])
        api.delete_network(b.network["id"])  # refused (409) while a workload port is on it
        after_delete = api.list_ports(network_id=b.network["id"])
    print(f"{'podman run --rm bb true, interleaved':<44} {'n':>4} {'median ms':>10} {'p90 ms':>8} {'ratio':>6}")
    for key, label in (("ovnet-pool", f"ovnet, pool of {args.pool} ready ports"), ("ovnet", "ovnet, no pool")):
        runs = samples[key]
        for which, name in (("ovnet", label), ("bridge", "  reference bridge + host-local")):
            ratio = statistics.median(runs["ovnet"]) / statistics.median(runs["bridge"])
            print(f"{name:<44} {len(runs[which]):>4} {statistics.median(runs[which]) * 1000:>10.1f} "
                  f"{percentile(runs[which], 0.9) * 1000:>8.1f} {f'{ratio:.2f}' if which == 'ovnet' else '':>6}")
    for key in ("ovnet-pool", "ovnet"):
        runs = samples[key]
        print(f"median ratio {key} / reference: "
              f"{statistics.median(runs['ovnet']) / statistics.median(runs['bridge']):.2f} (goal <= 1.2)")
    print(f"pool refill after a take (until full again, polled), n={len(refills)}: "
          f"p50 {percentile(refills, 0.5) * 1000:.0f} ms, p95 {percentile(refills, 0.95) * 1000:.0f} ms")
    for key in ("ovnet-pool", "ovnet"):
        print(f"ADD alone ({key}, plugin start-up included), n={len(add[key])}: "
              f"p50 {percentile(add[key], 0.5) * 1000:.1f} ms, p95 {percentile(add[key], 0.95) * 1000:.1f} ms")
    print(f"plugin start-up (VERSION, no agent), n={len(version)}: p50 {percentile(version, 0.5) * 1000:.1f} ms, "
          f"p95 {percentile(version, 0.95) * 1000:.1f} ms")
    print(f"workload ports left on the ovnet network: {len(left)}; ports of any kind after deleting it: "
          f"{len(after_delete)}")
    print(f"load average (1, 5, 15 min) at the start {', '.join(f'{v:.1f}' for v in load_start)}, "
          f"at the end {', '.join(f'{v:.1f}' for v in os.getloadavg())}")


if __name__ == "__main__":
    main()
