"""The syncer's Prometheus metrics (served by ovnet-server's ``GET /metrics``).

Module-level metrics in prometheus_client's default registry: one syncer runs per process and
the counters belong to that process, which is what the library's registry models. Buckets fit
what DESIGN.md measured: an NB transaction of one port takes ~2 ms, one of 1,000 ~0.8 s, a full
reconcile of a few thousand rows a few seconds.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client import Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

NB_APPLY_SECONDS = Histogram(
    "ovnet_nb_apply_duration_seconds", "Time to apply one outbox batch to OVN NB (one transaction per batch).",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0))
NB_APPLY_BATCH = Histogram(
    "ovnet_nb_apply_batch_size", "Outbox entries applied to OVN NB per batch.",
    buckets=(1, 2, 5, 10, 20, 50, 100, 200, 500, 1000))
RECONCILE_SECONDS = Histogram(
    "ovnet_reconcile_duration_seconds", "Time of one full reconcile of OVN NB against the model.",
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0))
RECONCILE_REPAIRS = Counter(
    "ovnet_reconcile_repairs_total", "Differences a reconcile repaired, by operation and NB table "
    "(op: create, update, delete, conflict; port_status for a port status fixed from Logical_Switch_Port.up).",
    ["op", "table"])


def count_repairs(changes) -> None:
    """Count ``changes`` (ovnet.ovn.diff.Change objects) in ovnet_reconcile_repairs_total."""
    for change in changes:
        RECONCILE_REPAIRS.labels(change.op, change.table).inc()


class NbConnectionCollector(Collector):
    """``ovnet_nb_connected`` (1 connected and replicated, 0 not), read from ``connected()`` at scrape."""

    def __init__(self, connected: Callable[[], bool]):
        self.connected = connected

    def collect(self) -> Iterator[GaugeMetricFamily]:
        yield GaugeMetricFamily("ovnet_nb_connected", "1 when ovnet-server's OVN NB connection is up and "
                                "replicated, else 0.", value=1.0 if self.connected() else 0.0)
