"""ovnet-agent: the host agent. ``python -m ovnet.host.agent --state-dir D`` (foreground).

It reads Settings with ``load_settings(D)``, talks to the API at ``settings.api_endpoints`` with the
token in ``<D>/admin-token`` and to the local OVS at ``unix:<settings.ovs_db_sock>``, reconciles
(ovnet.host.binding) once before it serves and then every ``settings.agent_sync_interval`` seconds,
and serves HTTP on the unix socket ``<run_dir>/agent.sock`` (mode 0600, root only from its creation):

    GET    /healthz                 -> {"status": "ok", "chassis": NAME}
    GET    /metrics                 -> Prometheus text (ovnet.host.metrics); also on 127.0.0.1:PORT
                                       when settings.agent_metrics_port is set
    GET    /bindings                -> {"bindings": [{"port_id", "kind", "device", "mac", "installed"}]}
    GET    /inventory               -> Binder.inventory(): OVS interfaces, plugged ids, ovnet devices, binds
                                       in flight (admin only, read only; what ``ovnet check`` compares)
    POST   /bindings                {"port_id", "kind": "veth"|"tap"|"internal", "target",
                                     "ifname"?, "owner"?}  -> 201 {"port_id", "kind", "device", "ready_s", "stages"}
    DELETE /bindings/{port_id}      -> 204
    POST   /reconcile               -> {"removed": [ids], "replugged": [ids], "converged": [ids], "unbound": [ids],
                                        "cni_removed": [ids]}
    POST   /cni/{add|del|check|status|gc}  {"env": {CNI_*}, "config": {...}}  (what ovnet-cni forwards)
                                    -> 200 a CNI Result (add) or {}; else 400/503 a CNI error object

Every request but GET /healthz and GET /metrics needs an ``X-Auth-Token`` (none: 401 NotAuthorized); it names the
caller, checked by the API (an invalid token: the API's 401). A port must be visible to the caller
(Neutron API semantics: another project's port is 404) and GET /bindings lists only visible ones;
the agent's own (admin) token sees all. Errors are NeutronError JSON.
Plugging state lives in OVS and the kernel only, so killing the agent never touches traffic.
"""

from __future__ import annotations

import argparse
import dataclasses
import hmac
import logging
import os
import signal
import socket
import sys
import threading
from pathlib import Path

import httpx
import uvicorn
from fastapi import Depends, FastAPI, Header, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest, start_http_server
from prometheus_client.registry import Collector
from pydantic import BaseModel

from ovnet.apiclient import ApiClient, ApiError
from ovnet.config import Settings, load_settings
from ovnet.host.attach import AttachService
from ovnet.host.binding import Binder, host_error_body
from ovnet.host.cni.protocol import ERR_TRY_LATER, CniError
from ovnet.host.cni.service import CniService
from ovnet.host.docker.server import SocketInUse
from ovnet.host.docker.service import DockerPlugin
from ovnet.host import metrics
from ovnet.host.errors import Forbidden, HostError, NotAuthorized
from ovnet.host.ovs import LocalOvs
from ovnet.host.vif import HostContext

LOG = logging.getLogger("ovnet.agent")

class BindRequest(BaseModel):
    """Body of POST /bindings."""

    port_id: str
    kind: str  # the VIF kind (ovnet.host.attachment.KINDS), not Neutron's binding:vif_type
    target: str
    ifname: str = "eth0"
    owner: str | None = None


class CniCall(BaseModel):
    """Body of POST /cni/{verb}: the plugin's CNI_* environment and the request JSON."""

    env: dict = {}
    config: dict = {}


def create_app(binder: Binder, cni: CniService, chassis: str, admin_token: str,
               scrape: Collector = REGISTRY) -> FastAPI:
    """The agent's HTTP app around ``binder`` and ``cni``; ``admin_token`` is the agent's own API
    token, whose callers act as admin; ``GET /metrics`` serves ``scrape``. Handlers are sync (run in
    the threadpool) because binding blocks on OVSDB and netlink."""
    app = FastAPI(title="ovnet-agent")

    def caller(x_auth_token: str | None = Header(default=None)) -> str | None:
        # None stands for the admin in the Binder; any other token is checked by the API itself.
        if not x_auth_token:
            raise NotAuthorized("Authentication required: send a token in X-Auth-Token")
        return None if hmac.compare_digest(x_auth_token.encode(), admin_token.encode()) else x_auth_token

    @app.exception_handler(HostError)
    @app.exception_handler(ApiError)
    def _error(_request: Request, exc: HostError | ApiError) -> JSONResponse:
        status, body = host_error_body(exc)
        return JSONResponse(body, status_code=status)

    @app.exception_handler(httpx.TransportError)
    def _api_away(_request: Request, exc: httpx.TransportError) -> JSONResponse:
        # The API server is down or restarting: a 503 the caller may retry, not a 500 and a
        # traceback in the log (seen by the fault storm while ovnet-server was being restarted).
        message = f"the ovnet API is not reachable: {type(exc).__name__}: {exc}"
        return JSONResponse({"NeutronError": {"type": "ServiceUnavailable", "message": message, "detail": ""}},
                            status_code=503)

    @app.get("/healthz")
    def healthz() -> dict:
        return {"status": "ok", "chassis": chassis}

    @app.get("/bindings")
    def bindings(token: str | None = Depends(caller)) -> dict:
        return {"bindings": binder.bindings(token)}

    @app.get("/inventory")
    def inventory(token: str | None = Depends(caller)) -> dict:
        if token:  # it names ports of every project and devices of deleted ones
            binder.authenticate(token)  # a wrong token stays the API's 401, not a 403
            raise Forbidden("the host inventory is for the admin only")
        return binder.inventory()

    @app.get("/metrics")
    def metrics_page() -> Response:
        return Response(generate_latest(scrape), media_type=CONTENT_TYPE_LATEST)

    @app.post("/bindings", status_code=201)
    def bind(body: BindRequest, token: str | None = Depends(caller)) -> dict:
        with metrics.counted("bind", body.kind):
            done = binder.bind(body.port_id, body.kind, body.target, token=token, ifname=body.ifname,
                               owner=body.owner)
        metrics.BIND_SECONDS.labels(body.kind).observe(done["ready_s"])
        return done

    @app.delete("/bindings/{port_id}", status_code=204)
    def unbind(port_id: str, token: str | None = Depends(caller)) -> Response:
        with metrics.counted("unbind"):
            binder.unbind(port_id, token=token)
        return Response(status_code=204)

    @app.post("/reconcile")
    def reconcile(token: str | None = Depends(caller)) -> dict:
        if token:
            binder.visible_ids(token, [])  # only to have the API check the token
        report = {**dataclasses.asdict(binder.reconcile()), "cni_removed": cni.sweep()}
        if token:  # a member learns only of ports it sees, never other projects' ids
            ids = [i for found in report.values() for i in found]
            seen = binder.visible_ids(token, ids) if ids else set()
            report = {key: [i for i in found if i in seen] for key, found in report.items()}
        return report

    @app.post("/cni/{verb}")
    def cni_call(verb: str, body: CniCall, token: str | None = Depends(caller)) -> JSONResponse:
        try:
            answer = JSONResponse(cni.handle(verb.upper(), body.env, body.config, token))
        except CniError as exc:
            metrics.count_cni(verb.upper(), "error")
            version = str(body.config.get("cniVersion") or "1.0.0")
            status = 503 if exc.code == ERR_TRY_LATER else 401 if exc.unauthorized else 400
            return JSONResponse(exc.body(version), status_code=status)
        metrics.count_cni(verb.upper(), "ok")
        return answer

    return app


def listen_private(path: Path) -> socket.socket:
    """A unix stream socket bound at ``path`` with mode 0600 from the start (umask 0177 around the
    bind, so no other user can ever connect); a stale file there is replaced. Not yet listening."""
    path.unlink(missing_ok=True)  # a socket left by a killed agent
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    previous = os.umask(0o177)
    try:
        sock.bind(str(path))
    finally:
        os.umask(previous)
    return sock


@dataclasses.dataclass(frozen=True)
class AgentParts:
    """The agent's services over one host, as ``build`` wires them."""

    admin: ApiClient
    service: AttachService
    binder: Binder
    cni: CniService


def build(settings: Settings, token: str) -> AgentParts:
    """Wire the agent's services for ``settings`` with the admin API ``token``: an ApiClient, the
    attach service over the local OVS (connects to ``settings.ovs_db_sock``), the Binder and the CNI
    service. An unreachable OVSDB raises what ovsdbapp raises for it."""
    ovs = LocalOvs(settings.ovs_db_sock, settings.bridge)
    admin = ApiClient(settings.api_endpoints, token)
    host = HostContext(ovs=ovs, netns=settings.netns, datapath=ovs.datapath_type())
    service = AttachService(host, admin, settings.chassis_name, settings.bind_timeout)
    binder = Binder(service, settings.api_endpoints)
    return AgentParts(admin, service, binder, CniService(binder, settings.cni_grace_period))


def _reconcile_forever(binder: Binder, cni: CniService, interval: float, stop: threading.Event) -> None:
    while not stop.wait(interval):
        try:
            binder.reconcile()
            cni.sweep()
        except (ApiError, httpx.HTTPError, HostError) as exc:
            # The API or OVS being away is expected (a restart): one line per round, no traceback.
            LOG.warning("periodic reconcile failed: %s: %s", type(exc).__name__, exc)
        except Exception:  # a bug: its traceback is worth the lines; the next round still runs
            LOG.exception("periodic reconcile failed")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="ovnet-agent", description=__doc__.splitlines()[0])
    parser.add_argument("--state-dir", type=Path, default=None)
    parser.add_argument("--token-file", type=Path, default=None, help="API token file (default <state>/admin-token)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per API request drowns the log
    settings = load_settings(args.state_dir)
    token = (args.token_file or settings.admin_token_file).read_text().strip()
    parts = build(settings, token)
    admin, service, binder, cni = parts.admin, parts.service, parts.binder, parts.cni
    # The Docker plugin socket first: a dockerd with networks of this driver needs it at its start.
    docker = DockerPlugin(service, settings.docker_plugin, settings.docker_host, settings.sync_interval,
                          ipam_grace_s=settings.docker_ipam_grace_period)
    try:
        docker.start()
    except SocketInUse as exc:
        LOG.error("Docker plugin not served: %s", exc)
        docker = None
    try:
        binder.reconcile(startup=True)
    except (ApiError, httpx.HTTPError, HostError) as exc:
        LOG.warning("start-up reconcile failed (%s); the periodic one retries", exc)
    stop = threading.Event()
    threading.Thread(target=_reconcile_forever, args=(binder, cni, settings.agent_sync_interval, stop),
                     daemon=True).start()
    sock = settings.agent_socket
    sock.parent.mkdir(parents=True, exist_ok=True)
    # uvicorn's own uds= would chmod the socket 0666; it serves the one made here instead.
    listener = listen_private(sock)
    # uvicorn re-raises the signal that stopped it once it has restored the previous handlers;
    # with these the re-raise becomes SystemExit and the cleanup below (plugin socket) runs.
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: sys.exit(0))
    scrape = metrics.AgentRegistry(settings.ovn_rundir)
    if settings.agent_metrics_port:
        start_http_server(settings.agent_metrics_port, addr=settings.listen_host, registry=scrape)
    try:
        uvicorn.run(create_app(binder, cni, settings.chassis_name, token, scrape), fd=listener.fileno(),
                    log_level="warning", access_log=False)
    finally:
        stop.set()
        listener.close()
        sock.unlink(missing_ok=True)
        if docker is not None:
            docker.stop()
        cni.close()
        admin.close()
        service.host.ovs.close()


if __name__ == "__main__":
    main()
