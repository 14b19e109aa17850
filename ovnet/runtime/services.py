"""ovnet's own long-running services (API server, host agent), supervised like the OVS/OVN daemons."""

from __future__ import annotations

import sys
from pathlib import Path

import httpx

from ovnet.config import LOCAL_HOST, Settings
from ovnet.runtime.daemon import NotListening, Service
from ovnet.tls import client_context


def http_probe(url: str, transport: httpx.HTTPTransport | None = None):
    """A health probe: GET ``url`` answers 200 within 2 s, and a JSON body's ``status``, if any, is
    "ok" (ovnet-server says "degraded" with a ``reason`` while its syncer has no OVN NB). Raises
    NotListening when the connection is refused or the socket file is missing (still starting)."""

    def probe() -> str | None:
        with httpx.Client(transport=transport, timeout=2.0, verify=client_context()) as client:
            try:
                answer = client.get(url)
            except httpx.ConnectError as exc:
                raise NotListening(f"{url}: {exc}") from None
        if answer.status_code != 200:
            return f"{url} answered {answer.status_code}"
        try:
            body = answer.json()
        except ValueError:
            return None
        if isinstance(body, dict) and body.get("status", "ok") != "ok":
            return str(body.get("reason") or body["status"])
        return None

    return probe


# How long ovnet's Python services may take to start listening while they run (their imports, the
# server's migrations, the agent's first reconcile): a 30 s wait was seen too short at load 20-40.
STARTING_LIMIT_S = 300.0


def python_service(settings: Settings, name: str, module: str, endpoint: str, health,
                   ports: list[tuple[int, str]] | None = None, sockets: list[Path] | None = None) -> Service:
    """A Service running ``python -m module --state-dir <state_dir>`` in the foreground, logging to
    ``<log_dir>/<name>.log``; the runtime writes its pidfile ``<run_dir>/<name>.pid``. ``sockets``:
    the unix socket files it serves (see Service). While it runs and does not listen yet, starting
    waits up to STARTING_LIMIT_S."""
    return Service(
        name=name,
        argv=[sys.executable, "-m", module, "--state-dir", str(settings.state_dir)],
        pidfile=settings.run_dir / f"{name}.pid",
        log=settings.log_dir / f"{name}.log",
        endpoint=endpoint,
        health=health,
        detaches=False,
        ports=ports or [],
        sockets=sockets or [],
        start_limit=STARTING_LIMIT_S,
    )


def ovnet_services(settings: Settings) -> list[Service]:
    """The ovnet services ``ovnet up`` starts after OVS/OVN, in start order."""
    agent_sock = settings.agent_socket
    # The server started here, probed where it listens (any-address: over loopback), which need
    # not be where clients reach the API (settings.api_endpoints may name a load balancer).
    host = LOCAL_HOST if settings.listen_host in ("0.0.0.0", "::") else settings.listen_host
    served = f"http://{host}:{settings.api_port}"
    return [
        python_service(settings, "ovnet-server", "ovnet.server", served, http_probe(f"{served}/healthz"),
                       ports=[(settings.api_port, "the API server (--api-port)")]),
        python_service(settings, "ovnet-agent", "ovnet.host.agent", f"unix:{agent_sock}",
                       http_probe("http://agent/healthz",
                                  httpx.HTTPTransport(uds=str(agent_sock), verify=client_context())),
                       sockets=[agent_sock, settings.docker_plugin_socket]),
    ]
