"""`docker run --rm` on an ovnet network against Docker's own bridge network, in the same run.

A private all-in-one (its agent serving a uniquely named Docker plugin) and a private dockerd in
the chassis' network namespace; one busybox image. Each round runs, in alternating order,
``docker run --rm --network <ovnet net> bb true`` and ``docker run --rm --network <bridge net> bb
true`` (a bridge network of that dockerd, inside its namespace). Prints medians, p90 and the ratio.

    .venv/bin/python bench/bench_docker_run.py [--runs 20]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from ovnet.config import Settings
from ovnet.runtime import allinone
from ovnet.runtime.process import free_port
from ovnet.testbed.dockerd import PrivateDockerd


def timed_run(dockerd: PrivateDockerd, network: str) -> float:
    started = time.perf_counter()
    dockerd.docker("run", "--rm", "--network", network, "bb", "true")
    return time.perf_counter() - started


def p90(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(0.9 * len(ordered)) - 1)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20, help="runs per network (>= 20 for the report)")
    args = parser.parse_args()
    tag = f"{time.time_ns() % 0xFFFFFF:06x}"
    with tempfile.TemporaryDirectory(prefix="ovb-") as tmp:
        dockerd = PrivateDockerd()
        settings = Settings(state_dir=Path(tmp) / "state", nb_port=free_port(), sb_port=free_port(),
                            api_port=free_port(), chassis_name=f"ovb-{tag}", netns=f"ovb-{tag}",
                            docker_plugin=f"ovb-{tag}", docker_host=dockerd.host)
        try:
            allinone.up(settings)
            dockerd.netns = settings.netns
            dockerd.start()
            dockerd.import_busybox("bb:latest")
            plugin = settings.docker_plugin
            dockerd.docker("network", "create", "-d", plugin, "--ipam-driver", plugin, "--subnet", "10.250.0.0/24",
                           "ovnet-net")
            dockerd.docker("network", "create", "-d", "bridge", "--subnet", "10.251.0.0/24", "bridge-net")
            for network in ("ovnet-net", "bridge-net"):  # warm caches, not counted
                timed_run(dockerd, network)
            samples: dict[str, list[float]] = {"ovnet-net": [], "bridge-net": []}
            for i in range(args.runs):
                order = ("ovnet-net", "bridge-net") if i % 2 == 0 else ("bridge-net", "ovnet-net")
                for network in order:
                    samples[network].append(timed_run(dockerd, network))
        except subprocess.CalledProcessError as exc:
            raise SystemExit(f"{' '.join(exc.cmd)} failed: {exc.stderr}") from None
        finally:
            dockerd.destroy()
            allinone.down(settings, purge=True)
    ovnet, bridge = statistics.median(samples["ovnet-net"]), statistics.median(samples["bridge-net"])
    print(f"docker run --rm bb true, {args.runs} runs each, interleaved (seconds)")
    print(f"{'network':<28}{'median':>10}{'p90':>10}")
    print(f"{'ovnet (libnetwork plugin)':<28}{ovnet:>10.3f}{p90(samples['ovnet-net']):>10.3f}")
    print(f"{'docker bridge (baseline)':<28}{bridge:>10.3f}{p90(samples['bridge-net']):>10.3f}")
    print(f"ratio ovnet / bridge (medians): {ovnet / bridge:.2f}")


if __name__ == "__main__":
    main()
