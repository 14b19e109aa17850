"""``/v2.0/rbac-policies``: create, list, show, update (target_tenant), delete (Neutron "rbac-policies")."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from ovnet.api import listing
from ovnet.api.body import read_json, unwrap
from ovnet.api.openapi import request_body, responses
from ovnet.model import rbac


def _inner(data: dict) -> dict:
    return unwrap(data, "rbac_policy")


def router(h) -> APIRouter:
    """The rbac-policies routes over ``h`` (routes.Handlers)."""
    api = APIRouter(prefix="/v2.0/rbac-policies")

    @api.post("", status_code=201, responses=responses(201, "rbac_policy", 403, 404, 409, 413),
              openapi_extra=request_body("rbac_policy", rbac.ATTRS, True))
    async def create(request: Request) -> Response:
        ctx = await h.context(request)
        body = _inner(await read_json(request, h.max_body))
        return await h.write(lambda s: {"rbac_policy": rbac.rbac_dict(rbac.create_policy(s, ctx, body, h.defaults))}, 201)

    @api.get("", responses=responses(200, "rbac_policies"))
    async def list_(request: Request) -> dict:
        ctx = await h.context(request)
        req = listing.parse(request.query_params.multi_items())
        items = await run_in_threadpool(
            h.store.run, lambda s: [rbac.rbac_dict(p) for p in rbac.list_policies(s, ctx, req.filters)], True)
        return {"rbac_policies": [listing.select_fields(i, req.fields) for i in items]}

    @api.get("/{policy_id}", responses=responses(200, "rbac_policy", 404))
    async def show(policy_id: str, request: Request) -> dict:
        ctx = await h.context(request)
        fields = listing.parse(request.query_params.multi_items()).fields
        item = await run_in_threadpool(h.store.run, lambda s: rbac.rbac_dict(rbac.get_policy(s, ctx, policy_id)), True)
        return {"rbac_policy": listing.select_fields(item, fields)}

    @api.put("/{policy_id}", responses=responses(200, "rbac_policy", 403, 404, 409, 413),
             openapi_extra=request_body("rbac_policy", rbac.ATTRS, False))
    async def update(policy_id: str, request: Request) -> Response:
        ctx = await h.context(request)
        body = _inner(await read_json(request, h.max_body))
        return await h.write(lambda s: {"rbac_policy": rbac.rbac_dict(rbac.update_policy(s, ctx, policy_id, body))},
                             200)

    @api.delete("/{policy_id}", status_code=204, responses=responses(204, None, 404, 409))
    async def delete(policy_id: str, request: Request) -> Response:
        ctx = await h.context(request)
        return await h.write(lambda s: rbac.delete_policy(s, ctx, policy_id), 204)

    return api
