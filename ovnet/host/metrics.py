"""The host agent's Prometheus metrics: ``GET /metrics`` on the agent's socket and, when
``settings.agent_metrics_port`` is set, on 127.0.0.1:PORT (prometheus_client's own server).

Module-level metrics in prometheus_client's default registry (one agent per process). The CNI
service counts its requests with ``count_cni(verb, result)``, the Docker plugin with
``count_docker(call, result)``. Buckets: a bind on this machine reaches ``ovn-installed`` in
~0.1 s idle and a few seconds under load; the bind timeout is 30 s.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from prometheus_client import REGISTRY, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

BIND_SECONDS = Histogram(
    "ovnet_agent_bind_duration_seconds", "Time from a bind request to the port's ovn-installed, by VIF kind.",
    ["kind"], buckets=(0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0))
BINDS = Counter("ovnet_agent_binds_total", "Bind requests by VIF kind and result (ok, error).",
                ["kind", "result"])
UNBINDS = Counter("ovnet_agent_unbinds_total", "Unbind requests by result (ok, error).", ["result"])
FAILURES = Counter("ovnet_agent_bind_failures_total", "Failed binds and unbinds by operation and reason "
                   "(the error's type, e.g. BindTimeout, Conflict, NotFound).", ["op", "reason"])
DOCKER_REQUESTS = Counter("ovnet_docker_requests_total", "libnetwork plugin calls by verb (e.g. "
                          "NetworkDriver.Join) and result (ok, error, crash).", ["verb", "result"])
CNI_REQUESTS = Counter("ovnet_cni_requests_total", "CNI requests by verb (ADD, DEL, CHECK, STATUS, GC) "
                       "and result (ok, error).", ["verb", "result"])


def count_docker(verb: str, result: str) -> None:
    """Count one libnetwork call ``verb`` with ``result`` "ok", "error" or "crash"."""
    DOCKER_REQUESTS.labels(verb, result).inc()


CNI_VERBS = frozenset({"ADD", "DEL", "CHECK", "STATUS", "GC", "VERSION"})  # CNI 1.1 §"Parameters"


def count_cni(verb: str, result: str) -> None:
    """Count one CNI request: ``verb`` as CNI_COMMAND gives it (any other word counts as "other",
    so a caller cannot grow the label set), ``result`` "ok" or "error"."""
    CNI_REQUESTS.labels(verb if verb in CNI_VERBS else "other", result).inc()


@contextmanager
def counted(op: str, kind: str = "") -> Iterator[None]:
    """Count the bind (``op`` "bind", with its VIF ``kind``) or unbind ("unbind") done in the block:
    ok, or error plus a failure labelled with the error's type name (BindTimeout, Conflict,
    NotFound, ...: a bounded set). The error propagates."""
    def total(result: str):
        return BINDS.labels(kind, result) if op == "bind" else UNBINDS.labels(result)

    try:
        yield
    except Exception as exc:
        total("error").inc()
        FAILURES.labels(op, type(exc).__name__).inc()
        raise
    total("ok").inc()


class SbConnectionCollector(Collector):
    """``ovnet_sb_connected``: 1 when this chassis' ovn-controller reports its SB connection
    "connected" (``ovn-appctl connection-status``), else 0 (also when ovn-controller is not running).
    ``ovn_rundir`` holds its pidfile and control socket (OVN 23.03 names it after its pid)."""

    def __init__(self, ovn_rundir: Path):
        self.ovn_rundir = ovn_rundir

    def connected(self) -> bool:
        try:
            pid = int((self.ovn_rundir / "ovn-controller.pid").read_text())
            done = subprocess.run(["ovn-appctl", "-t", str(self.ovn_rundir / f"ovn-controller.{pid}.ctl"),
                                   "connection-status"], capture_output=True, text=True, timeout=2, check=False)
        except (OSError, ValueError, subprocess.TimeoutExpired):
            return False
        return done.returncode == 0 and done.stdout.strip() == "connected"

    def collect(self) -> Iterator[Metric]:
        yield GaugeMetricFamily("ovnet_sb_connected", "1 when this chassis' ovn-controller is connected to "
                                "OVN SB, else 0.", value=1.0 if self.connected() else 0.0)


class AgentRegistry(Collector):
    """What the agent's scrape shows: the default registry plus the SB connection state."""

    def __init__(self, ovn_rundir: Path):
        self.sb = SbConnectionCollector(ovn_rundir)

    def collect(self) -> Iterator[Metric]:
        yield from REGISTRY.collect()
        yield from self.sb.collect()

