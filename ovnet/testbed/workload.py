"""Run the echo server and its clients (``ovnet.testbed.echo``) inside workload namespaces.

Each call enters the namespace with ``nsenter --net=/run/netns/NS`` (not ``ip netns exec``, which
remounts /sys). Servers are supervised like every ovnet process: a pidfile, a log, stopped by pid.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from ovnet.runtime.daemon import Service
from ovnet.runtime.process import RuntimeFailure

ECHO_PORT = 7  # the echo service's well-known port (RFC 862)


def in_netns(ns: str, *argv: str) -> list[str]:
    """``argv`` as run inside network namespace ``ns``: a name under /run/netns, or a path such as
    a container's ``/proc/PID/ns/net``."""
    return ["nsenter", f"--net={ns if ns.startswith('/') else f'/run/netns/{ns}'}", *argv]


def _echo(ns: str, *args: str) -> list[str]:
    return in_netns(ns, sys.executable, "-m", "ovnet.testbed.echo", *args)


def echo_server(ns: str, name: str, run_dir: Path, port: int = ECHO_PORT, peer: bool = False) -> Service:
    """The echo server answering ``name`` inside ``ns`` as a Service (start() waits until it
    listens); with ``peer`` it answers ``name@<peer address>`` (ovnet.testbed.echo)."""
    ready = run_dir / f"echo-{ns}.ready"

    def listening() -> str | None:
        return None if ready.exists() else "not listening yet"

    argv = _echo(ns, "serve", name, "--port", str(port), "--ready", str(ready), "--netns", ns,
                 *(["--peer"] if peer else []))
    return Service(name=f"echo {name}", argv=argv,
                   pidfile=run_dir / f"echo-{ns}.pid", log=run_dir / f"echo-{ns}.log", endpoint=f"{ns} tcp/{port}",
                   health=listening, detaches=False, before=lambda: ready.unlink(missing_ok=True), start_timeout=10.0)


def announce_own_addresses(ns: str) -> None:
    """Make ARP from each NIC in ``ns`` carry that NIC's own address (arp_announce=2, ip-sysctl):
    Linux by default takes the source address of the packet that waits for the answer, which for a
    workload with two NICs can be its other NIC's, and OVN's port security drops such an ARP, so
    the neighbour would stay unresolved for every packet to it. Raises RuntimeFailure."""
    done = subprocess.run(in_netns(ns, "sysctl", "-qw", "net.ipv4.conf.all.arp_announce=2"), capture_output=True,
                          text=True)
    if done.returncode != 0:
        raise RuntimeFailure(f"sysctl arp_announce in {ns} failed: {done.stderr.strip()}")


def _spawn(argv: list[str]) -> subprocess.Popen:
    return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def start_probe(ns: str, ifname: str, addresses: list[str], timeout: float = 1.0,
                port: int = ECHO_PORT) -> subprocess.Popen:
    """Start probing ``addresses`` from ``ifname`` in ``ns``; finish with collect()."""
    return _spawn(_echo(ns, "probe", "--ifname", ifname, "--port", str(port), "--timeout", str(timeout), *addresses))


def collect(proc: subprocess.Popen, timeout: float = 30.0):
    """The JSON a client printed: for a probe one {"ip", "ping": bool, "echo": name | None} per
    address, in order. Raises RuntimeFailure when the client fails or overruns ``timeout`` s."""
    try:
        out, errs = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        proc.kill()
        proc.communicate()
        raise RuntimeFailure(f"{' '.join(proc.args[3:6])} did not finish within {timeout:g} s") from exc
    if proc.returncode != 0:
        raise RuntimeFailure(f"{' '.join(proc.args[3:6])} failed: {' '.join(errs.strip().splitlines()[-1:])}")
    return json.loads(out)


def send(ns: str, address: str, size: int, port: int = ECHO_PORT, timeout: float = 60.0) -> dict:
    """TCP-transfer ``size`` bytes from ``ns`` to the echo server at ``address``:
    {"peer": its name, "bytes": what it received, "seconds": elapsed}."""
    return collect(_spawn(_echo(ns, "send", address, "--port", str(port), "--bytes", str(size))), timeout)
