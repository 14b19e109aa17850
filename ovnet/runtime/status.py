"""Status rows of supervised services (``ovnet status``, ``ovnet up``'s table) and the progress
callback of ``up``/``down``: shared by the all-in-one and the added hosts, so neither imports the other."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Callable

from ovnet.runtime.daemon import Service

Progress = Callable[[str, str], None]  # (service name, "starting" | "running" | "started" | "stopped")


@dataclass
class ServiceStatus:
    """One row of ``ovnet status``: pid (or None), alive, healthy, reason when not, endpoint, log path."""

    name: str
    pid: int | None
    alive: bool
    healthy: bool
    reason: str | None
    endpoint: str
    log: str

    def as_dict(self) -> dict:
        return asdict(self)


def service_rows(services: list[Service]) -> list[ServiceStatus]:
    """One status row per service, probing each once."""
    rows = []
    for svc in services:
        pid = svc.pid()
        reason = svc.check()
        rows.append(ServiceStatus(svc.name, pid, pid is not None, reason is None, reason, svc.endpoint, str(svc.log)))
    return rows


def status_json(rows: list[ServiceStatus]) -> str:
    """The rows as a JSON array of objects (``ovnet status --json``)."""
    return json.dumps([r.as_dict() for r in rows], indent=2)
