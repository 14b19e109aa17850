"""The plugin's HTTP face: one POST route per libnetwork call, errors in libnetwork's format.

Error mapping (libnetwork.md A.4 and pitfall 1):
  * a NetworkDriver call that fails on purpose answers 200 ``{"Err": msg}`` (docker: ``remote: msg``);
  * an IpamDriver call answers 200 ``{"Error": msg}`` -- IPAM's field is ``Error``; an ``Err`` there
    would be taken for success;
  * the ovnet API refusing a request, or being unreachable, is a failure on purpose too (the API's
    message, or that it is not reachable; logged in one line, without a traceback);
  * anything unexpected answers HTTP 500 ``{"Err": msg}``, which both drivers surface;
  * an unknown call answers 404 ``{"Err"}`` -- which dockerd tolerates only for
    Program/RevokeExternalConnectivity, and we answer those anyway.
Handlers run in a threadpool: they block on the ovnet API and netlink.
"""

from __future__ import annotations

import logging
import time
from typing import Callable, Protocol

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from ovnet.apiclient import ApiError
from ovnet.host import metrics
from ovnet.host.docker import protocol as p
from ovnet.host.docker.catalog import api_message

log = logging.getLogger(__name__)

MEDIA_TYPE = "application/vnd.docker.plugins.v1+json"


class NetworkDriverCalls(Protocol):
    """What the NetworkDriver side implements; each method gets the parsed request, returns a dict."""

    def create_network(self, req: p.CreateNetworkRequest) -> dict: ...
    def delete_network(self, req: p.NetworkRequest) -> dict: ...
    def create_endpoint(self, req: p.CreateEndpointRequest) -> dict: ...
    def delete_endpoint(self, req: p.EndpointRequest) -> dict: ...
    def endpoint_oper_info(self, req: p.EndpointRequest) -> dict: ...
    def join(self, req: p.JoinRequest) -> dict: ...
    def leave(self, req: p.EndpointRequest) -> dict: ...


class IpamDriverCalls(Protocol):
    """What the IpamDriver side implements."""

    def request_pool(self, req: p.RequestPoolRequest) -> dict: ...
    def release_pool(self, req: p.PoolRequest) -> dict: ...
    def request_address(self, req: p.RequestAddressRequest) -> dict: ...
    def release_address(self, req: p.ReleaseAddressRequest) -> dict: ...


# Capabilities are read once per dockerd lifetime (libnetwork.md pitfall 19).
NETWORK_CAPABILITIES = {"Scope": "local", "ConnectivityScope": "global"}
# RequiresMACAddress: dockerd picks the MAC before RequestAddress, so the v4 and v6 requests of one
# endpoint name the same MAC and land on one port. RequiresRequestReplay: every replayed call is
# an idempotent "ensure" here, so a dockerd restart cannot lose or double anything.
IPAM_CAPABILITIES = {"RequiresMACAddress": True, "RequiresRequestReplay": True}


def _constant(value: dict) -> Callable[[dict], dict]:
    return lambda _body: dict(value)


def call_table(network: NetworkDriverCalls, ipam: IpamDriverCalls, address_space: str = "ovnet"
               ) -> dict[str, Callable[[dict], dict]]:
    """``"Interface.Method"`` -> handler(body dict) -> answer dict, parsing each body first."""

    def parsed(kind, method):
        return lambda body: method(kind.parse(body))

    return {
        "Plugin.Activate": _constant({"Implements": ["NetworkDriver", "IpamDriver"]}),
        "NetworkDriver.GetCapabilities": _constant(NETWORK_CAPABILITIES),
        "NetworkDriver.CreateNetwork": parsed(p.CreateNetworkRequest, network.create_network),
        "NetworkDriver.DeleteNetwork": parsed(p.NetworkRequest, network.delete_network),
        "NetworkDriver.CreateEndpoint": parsed(p.CreateEndpointRequest, network.create_endpoint),
        "NetworkDriver.DeleteEndpoint": parsed(p.EndpointRequest, network.delete_endpoint),
        "NetworkDriver.EndpointOperInfo": parsed(p.EndpointRequest, network.endpoint_oper_info),
        "NetworkDriver.Join": parsed(p.JoinRequest, network.join),
        "NetworkDriver.Leave": parsed(p.EndpointRequest, network.leave),
        # Port publishing (-p) is not offered yet; acknowledging keeps `docker run -p` working.
        "NetworkDriver.ProgramExternalConnectivity": parsed(p.EndpointRequest, lambda _req: {}),
        "NetworkDriver.RevokeExternalConnectivity": parsed(p.EndpointRequest, lambda _req: {}),
        # Swarm and cluster-store calls: a local-scope driver has nothing to allocate or discover.
        "NetworkDriver.AllocateNetwork": _constant({"Options": {}}),
        "NetworkDriver.FreeNetwork": _constant({}),
        "NetworkDriver.DiscoverNew": _constant({}),
        "NetworkDriver.DiscoverDelete": _constant({}),
        "IpamDriver.GetCapabilities": _constant(IPAM_CAPABILITIES),
        "IpamDriver.GetDefaultAddressSpaces": _constant(
            {"LocalDefaultAddressSpace": address_space, "GlobalDefaultAddressSpace": address_space}),
        "IpamDriver.RequestPool": parsed(p.RequestPoolRequest, ipam.request_pool),
        "IpamDriver.ReleasePool": parsed(p.PoolRequest, ipam.release_pool),
        "IpamDriver.RequestAddress": parsed(p.RequestAddressRequest, ipam.request_address),
        "IpamDriver.ReleaseAddress": parsed(p.ReleaseAddressRequest, ipam.release_address),
    }


def error_body(call: str, message: str) -> dict:
    """The 200 error answer of ``call``: ``{"Error"}`` for IpamDriver, ``{"Err"}`` otherwise."""
    return {"Error": message} if call.startswith("IpamDriver.") else {"Err": message}


def refusal(exc: ApiError | httpx.TransportError) -> str:
    """The sentence for a Docker user when the ovnet API refused a call (its NeutronError message)
    or could not be reached."""
    if isinstance(exc, ApiError):
        return f"the ovnet API refused: {api_message(exc)}"
    return f"the ovnet API is not reachable ({type(exc).__name__}: {exc}); is ovnet-server running?"


def create_app(network: NetworkDriverCalls, ipam: IpamDriverCalls, address_space: str = "ovnet") -> FastAPI:
    """A FastAPI app answering every libnetwork call of both drivers (see the module docstring)."""
    table = call_table(network, ipam, address_space)
    app = FastAPI(title="ovnet libnetwork plugin", docs_url=None, redoc_url=None, openapi_url=None)

    @app.post("/{call}")
    async def dispatch(call: str, request: Request) -> JSONResponse:
        handler = table.get(call)
        if handler is None:
            return JSONResponse({"Err": f"ovnet does not implement {call}"}, status_code=404, media_type=MEDIA_TYPE)
        raw = await request.body()
        started = time.monotonic()
        try:
            answer = await run_in_threadpool(lambda: handler(p.parse_body(raw)))
            status, result = 200, "ok"
        except p.PluginError as exc:
            log.warning("%s failed: %s", call, exc.message)
            answer, status, result = error_body(call, exc.message), 200, "error"
        except (ApiError, httpx.TransportError) as exc:
            # The API refusing a request, or not answering at all (restarting, down), is an answer
            # for the Docker user, not a bug: one line, no traceback.
            message = refusal(exc)
            log.warning("%s failed: %s", call, message)
            answer, status, result = error_body(call, message), 200, "error"
        except Exception as exc:  # an edge: every surprise still reaches the Docker user as text
            log.exception("%s crashed", call)
            answer, status, result = {"Err": f"ovnet internal error: {exc}"}, 500, "crash"
        metrics.count_docker(call, result)
        log.debug("%s %d in %.1f ms", call, status, (time.monotonic() - started) * 1000)
        return JSONResponse(answer, status_code=status, media_type=MEDIA_TYPE)

    return app
