"""``GET /metrics`` of ovnet-server: Prometheus text format (prometheus_client), no token needed
(as Prometheus scrapes; the API listens on loopback by default and the page holds counts only).

- ``ovnet_api_request_duration_seconds{method, route, status}``: a histogram per route template
  (``/v2.0/ports/{resource_id}``, never the raw path, so ids do not explode the label set);
- ``ovnet_outbox_depth`` and ``ovnet_outbox_oldest_age_seconds``: changes not yet in OVN NB;
- ``ovnet_ports{status}``: ports by status over every project;
- whatever ``collectors`` ``install`` is given (ovnet-server adds the syncer's NB connection state),
  and prometheus_client's default registry: the syncer's histograms (ovnet.ovn.metrics) and the
  process' CPU/memory.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator

from fastapi import FastAPI, Response
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from starlette.concurrency import run_in_threadpool

from ovnet.model import stats
from ovnet.model.store import Store

REQUEST_SECONDS = Histogram(
    "ovnet_api_request_duration_seconds", "Neutron API request latency by method, route template and status.",
    ["method", "route", "status"],
    buckets=(0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0))


class StoreCollector(Collector):
    """Outbox depth/age and ports by status, read from the store at each scrape (two aggregate
    queries; a scrape every 15 s costs nothing measurable)."""

    def __init__(self, store: Store):
        self.store = store

    def collect(self) -> Iterator[Metric]:
        depth, age = self.store.run(stats.outbox_stats, True)
        by_status = self.store.run(stats.ports_by_status, True)
        yield GaugeMetricFamily("ovnet_outbox_depth", "Committed changes not yet applied to OVN NB.", value=depth)
        yield GaugeMetricFamily("ovnet_outbox_oldest_age_seconds",
                                "Age of the oldest change not yet applied to OVN NB (0 when none).", value=age)
        ports = GaugeMetricFamily("ovnet_ports", "Ports by status, all projects.", labels=["status"])
        for status in sorted(set(by_status) | {"ACTIVE", "DOWN"}):
            ports.add_metric([status], by_status.get(status, 0))
        yield ports


class Joined(Collector):
    """The default registry followed by this app's own collectors, as one scrape."""

    def __init__(self, collectors: Iterable[Collector]):
        self.collectors = list(collectors)

    def collect(self) -> Iterator[Metric]:
        yield from REGISTRY.collect()
        for collector in self.collectors:
            yield from collector.collect()


class _Timing:
    """Pure ASGI middleware observing REQUEST_SECONDS. The route label is the matched route's path
    template, which FastAPI leaves in the scope ("unmatched" for a 404 without a route)."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started, status = time.perf_counter(), [500]

        async def sending(message):
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            route = getattr(scope.get("route"), "path", "unmatched")
            if route != "/metrics":
                REQUEST_SECONDS.labels(scope["method"], route, str(status[0])).observe(time.perf_counter() - started)


def install(app: FastAPI, store: Store, collectors: Iterable[Collector] = ()) -> None:
    """Time every request of ``app`` and serve ``GET /metrics`` from the store and ``collectors``."""
    scrape = Joined([StoreCollector(store), *collectors])
    app.add_middleware(_Timing)

    @app.get("/metrics", include_in_schema=False)
    async def metrics() -> Response:
        body = await run_in_threadpool(generate_latest, scrape)
        return Response(body, media_type=CONTENT_TYPE_LATEST)
