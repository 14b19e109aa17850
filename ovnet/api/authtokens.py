"""Keystone's ``POST /v3/auth/tokens`` for ovnet's own tokens, answering with a service catalog.

Keystone API v3 "Authentication and token management": the request names the token method
(``{"auth": {"identity": {"methods": ["token"], "token": {"id": T}}}}``); the answer (201) carries
the token in ``X-Subject-Token`` (here the very token presented: ovnet issues no new ones) and a
body with the token's project, role and the catalog. The catalog is why this exists: it lists
only what ovnet serves, ``network`` (this server) and ``identity`` (its /v3 slice), so a client
asks nothing of services that are not here. ``openstack quota show PROJECT`` without
``--network`` asks Nova and Cinder for their quotas when it cannot tell they are absent, which
a token without a catalog (the ``admin_token`` auth) never lets it tell.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from ovnet.api.body import read_json
from ovnet.api.jsonresponse import Json
from ovnet.model.errors import NotAuthorized
from ovnet.model.schema import utcnow
from ovnet.model.tenancy import get_project

REGION = "RegionOne"
DOMAIN = {"id": "default", "name": "Default"}
NEVER = "9999-12-31T23:59:59.000000Z"  # ovnet's tokens are valid until revoked (or their own expiry)


def _member(value: object, key: str) -> object:
    return value.get(key) if isinstance(value, dict) else None


def _token_id(body: object) -> str:
    identity = _member(_member(body, "auth"), "identity")
    methods = _member(identity, "methods")
    token = _member(identity, "token") if isinstance(methods, list) and "token" in methods else None
    if not isinstance(token, dict) or not isinstance(token.get("id"), str):
        raise NotAuthorized("ovnet authenticates the token method only: "
                            '{"auth": {"identity": {"methods": ["token"], "token": {"id": TOKEN}}}}')
    return token["id"]


def catalog(base: str) -> list[dict]:
    """The services at ``base`` (the URL the client reached us by) in Keystone's catalog form."""
    def service(kind: str, name: str, url: str) -> dict:
        return {"id": kind, "type": kind, "name": name,
                "endpoints": [{"id": f"{kind}-{iface}", "interface": iface, "region": REGION, "region_id": REGION,
                               "url": url} for iface in ("public", "internal", "admin")]}
    return [service("network", "neutron", base), service("identity", "keystone", f"{base}/v3")]


def router(handlers) -> APIRouter:
    """``POST /v3/auth/tokens`` over ``handlers`` (routes.Handlers)."""
    api = APIRouter(prefix="/v3/auth")

    @api.post("/tokens", status_code=201)
    async def issue(request: Request) -> Json:
        secret = _token_id(await read_json(request, handlers.max_body))
        ctx = await handlers.context_of(secret)
        project = await run_in_threadpool(handlers.store.run, lambda s: get_project(s, ctx, ctx.project_id), True)
        role = "admin" if ctx.is_admin else "member"
        scoped = {"id": project.id, "name": project.name, "domain": DOMAIN}
        body = {"token": {
            "methods": ["token"], "expires_at": NEVER, "issued_at": utcnow().isoformat() + "Z", "audit_ids": [],
            "user": {"id": project.id, "name": project.name, "domain": DOMAIN},
            "project": scoped, "roles": [{"id": role, "name": role}],
            "catalog": catalog(str(request.base_url).rstrip("/")),
        }}
        return Json(body, status_code=201, headers={"X-Subject-Token": secret})

    return api
