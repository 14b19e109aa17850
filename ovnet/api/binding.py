"""``PUT /v2.0/ports/{port_id}/bind_host``: the host agents' one-round-trip bind (not Neutron's).

Request ``{"host": CHASSIS, "port": {...}?}`` (``port``: other attributes to set in the same
write, as a port update body); answer ``{"port": {...}, "network": {...}, "subnets": [...],
"changed": bool}`` in Neutron's shapes. Errors are NeutronError JSON (403, 404, 409
PortBindingConflict). Unlike the other writes it does not wait for NB to confirm: the caller next
waits for ovn-controller's ``ovn-installed`` on the port, which a chassis reaches whether or not
``options:requested-chassis`` is in NB yet (ovn-architecture(7), requested-chassis only keeps
*other* chassis from claiming), so a second NB wait would only add latency. The syncer is woken
at once; a response that wrote says ``X-Ovnet-Sync: pending``.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from ovnet.api.body import read_json
from ovnet.api.jsonresponse import Json
from ovnet.api.routes import Handlers
from ovnet.model.binding import bind_port
from ovnet.model.errors import BadRequest
from ovnet.model.serialize import network_dict, port_dict, subnet_dict


def router(h: Handlers) -> APIRouter:
    """The bind_host route over ``h``'s store, authenticator and commit hook."""
    api = APIRouter()

    @api.put("/v2.0/ports/{port_id}/bind_host")
    async def bind_host(port_id: str, request: Request) -> Json:
        ctx = await h.context(request)
        data = await read_json(request, h.max_body)
        if (set(data) - {"port"} != {"host"} or not isinstance(data["host"], str)
                or not isinstance(data.get("port", {}), dict)):
            raise BadRequest('Body required: {"host": "<chassis name>", "port": {...} (optional)}', "HTTPBadRequest",
                             "host")

        def work(session, write: bool = True):
            bound = bind_port(session, ctx, port_id, data["host"], data.get("port"), write)
            if bound is None:
                return None
            return {"port": port_dict(bound.port), "network": network_dict(bound.network),
                    "subnets": [subnet_dict(s) for s in bound.subnets], "changed": bound.changed}
        # A port already bound to the host (created bound, or a repeated bind) is answered from a
        # read-only transaction: no wait behind the writers on SQLite's single write lock.
        result = None
        if not data.get("port"):
            result = await run_in_threadpool(h.store.run, lambda session: work(session, write=False), True)
        if result is None:
            result = await run_in_threadpool(h.store.run, work)
        if result["changed"] and h.on_commit is not None:
            await run_in_threadpool(h.on_commit, 0.0)  # wakes the syncer; zero timeout: no wait
        return Json(result, headers={"X-Ovnet-Sync": "pending"} if result["changed"] else None)

    return api
