"""``/v2.0/quotas``: per-project limits (Neutron "quotas" and "quota_details" extensions).

GET /v2.0/quotas (admin: projects with limits of their own), GET|PUT|DELETE
/v2.0/quotas/{project_id}, GET /v2.0/quotas/{project_id}/default and .../details.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from ovnet.api.body import read_json, unwrap
from ovnet.api.openapi import responses
from ovnet.model import quotas


QUOTA_BODY = {"requestBody": {"required": True, "content": {"application/json": {"schema": {
    "type": "object", "required": ["quota"], "properties": {"quota": {
        "type": "object", "properties": {name: {"type": "integer"} for name in quotas.COUNTED}}}}}}}}


def router(h) -> APIRouter:
    """The quota routes over ``h`` (routes.Handlers; its defaults carry the deployment's quotas)."""
    api = APIRouter(prefix="/v2.0/quotas")
    defaults = h.defaults.quotas

    async def read(request: Request, fn) -> dict:
        ctx = await h.context(request)
        return await run_in_threadpool(h.store.run, lambda s: fn(s, ctx), True)

    @api.get("", responses=responses(200, "quotas", 403))
    async def list_(request: Request) -> dict:
        return {"quotas": await read(request, lambda s, ctx: quotas.list_all(s, ctx, defaults))}

    @api.get("/{project_id}", responses=responses(200, "quota", 403))
    async def show(project_id: str, request: Request) -> dict:
        return {"quota": await read(request, lambda s, ctx: quotas.show(s, ctx, project_id, defaults))}

    @api.get("/{project_id}/default", responses=responses(200, "quota"))
    async def show_default(project_id: str, request: Request) -> dict:
        await h.context(request)
        return {"quota": {name: defaults.get(name, quotas.UNLIMITED) for name in quotas.COUNTED}}

    @api.get("/{project_id}/details", responses=responses(200, "quota", 403))
    async def show_details(project_id: str, request: Request) -> dict:
        return {"quota": await read(request, lambda s, ctx: quotas.details(s, ctx, project_id, defaults))}

    @api.put("/{project_id}", responses=responses(200, "quota", 403, 409, 413), openapi_extra=QUOTA_BODY)
    async def update(project_id: str, request: Request) -> Response:
        ctx = await h.context(request)
        data = await read_json(request, h.max_body)
        wanted = unwrap(data, "quota")
        return await h.write(lambda s: {"quota": quotas.update(s, ctx, project_id, wanted, defaults)}, 200)

    @api.delete("/{project_id}", status_code=204, responses=responses(204, None, 403))
    async def reset(project_id: str, request: Request) -> Response:
        ctx = await h.context(request)
        return await h.write(lambda s: quotas.reset(s, ctx, project_id), 204)

    return api
