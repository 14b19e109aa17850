"""A slice of Keystone's Identity API v3: the projects, and ovnet's member tokens for them.

Keystone API v3 "Projects": ``GET /v3/projects[?name=N][&domain_id=D]`` -> ``{"projects": [...],
"links": {...}}``, ``GET /v3/projects/{id}`` -> ``{"project": {...}}`` and ``POST /v3/projects``
with ``{"project": {"name": N}}`` -> 201 ``{"project": {...}}`` (409 when the name is taken);
``DELETE /v3/projects/{id}`` -> 204, its tokens revoked; 409 ProjectInUse while it owns resources,
unless ``?cascade=true`` (ovnet's), which removes them first and answers 200 ``{"deleted": {...}}``.

ovnet's tokens have no Keystone call (Keystone issues tokens to users, and ovnet has none), so they
sit under ``/v3/OS-OVNET/``, the way Keystone names its own extensions (``/v3/OS-TRUST/``...):
``POST /v3/OS-OVNET/projects/{id}/tokens`` -> 201 ``{"token": {"project_id", "role", "secret"}}``
(a new member token; the secret is shown this once; body ``{"token": {"expires_in": seconds}}``
optional), ``DELETE /v3/OS-OVNET/projects/{id}/tokens`` -> ``{"revoked": n}`` (the token in the
``X-Subject-Token`` header, or all of the project's) and ``GET /v3/OS-OVNET/token_counts`` ->
``{"token_counts": {project_id: n}}``. ``ovnet project create|token|list`` use these, so the CLI
needs an admin token and the API, never the SQL store.

ovnet has one domain, ``default``. Admin tokens only (Keystone's default policy): a member gets 403,
no token 401. Errors under /v3 are in Keystone's format, ``{"error": {"code", "title", "message"}}``
(see errors.py), because the clients of these paths are Keystone clients.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from ovnet.api.body import read_json
from ovnet.api.jsonresponse import Json
from ovnet.model import projects
from ovnet.model.errors import BadRequest
from ovnet.model.schema import Project
from ovnet.model.tenancy import (
    add_project,
    find_projects,
    get_project,
    issue_member_token,
    revoke_tokens,
    token_counts,
)

DOMAIN_ID = "default"


def _project(request: Request, project: Project) -> dict:
    href = str(request.base_url).rstrip("/") + f"/v3/projects/{project.id}"
    return {"id": project.id, "name": project.name, "domain_id": DOMAIN_ID, "parent_id": DOMAIN_ID,
            "description": "", "enabled": True, "is_domain": False, "links": {"self": href}}


def router(handlers) -> APIRouter:
    """The /v3 routes over ``handlers`` (routes.Handlers: store, authenticator, body limit)."""
    api = APIRouter(prefix="/v3")

    @api.get("")
    @api.get("/")
    def version(request: Request) -> dict:
        # Keystone's version document (GET /v3, no token): openstacksdk's discovery reads it before
        # any project lookup, and keystoneauth before POST /v3/auth/tokens (authtokens.py).
        href = str(request.base_url).rstrip("/") + "/v3/"
        return {"version": {"id": "v3.14", "status": "stable", "updated": "2020-04-07T00:00:00Z",
                            "links": [{"rel": "self", "href": href}],
                            "media-types": [{"base": "application/json",
                                             "type": "application/vnd.openstack.identity-v3+json"}]}}

    @api.get("/projects")
    async def list_projects(request: Request, name: str | None = None, domain_id: str | None = None) -> dict:
        ctx = await handlers.context(request)
        found = await run_in_threadpool(
            handlers.store.run, lambda s: [_project(request, p) for p in find_projects(s, ctx, name)], True)
        if domain_id is not None and domain_id != DOMAIN_ID:
            found = []
        return {"projects": found, "links": {"self": str(request.url), "previous": None, "next": None}}

    @api.get("/projects/{project_id}")
    async def show_project(project_id: str, request: Request) -> dict:
        ctx = await handlers.context(request)
        project = await run_in_threadpool(
            handlers.store.run, lambda s: _project(request, get_project(s, ctx, project_id)), True)
        return {"project": project}

    @api.post("/projects")
    async def create_project(request: Request) -> Json:
        ctx = await handlers.context(request)
        body = await read_json(request, handlers.max_body)
        name = body.get("project", {}).get("name") if isinstance(body.get("project"), dict) else None
        if not isinstance(name, str):
            raise BadRequest('Request body required: {"project": {"name": ...}}', field="name")
        project = await run_in_threadpool(handlers.store.run, lambda s: _project(request, add_project(s, ctx, name)))
        return Json({"project": project}, status_code=201)

    @api.delete("/projects/{project_id}")
    async def delete_project(project_id: str, request: Request, cascade: bool = False) -> Response:
        # Keystone's call (204), refusing while the project owns resources unless ?cascade=true
        # (ovnet's; its answer says what went). model/projects.py says why and in which order.
        ctx = await handlers.context(request)
        gone = await run_in_threadpool(handlers.store.run, lambda s: projects.delete_project(s, ctx, project_id,
                                                                                             cascade))
        return Json({"deleted": gone}) if cascade else Response(status_code=204)

    @api.post("/OS-OVNET/projects/{project_id}/tokens")
    async def create_token(project_id: str, request: Request) -> Json:
        ctx = await handlers.context(request)
        expires = None
        if request.headers.get("content-length", "0") != "0":
            wanted = (await read_json(request, handlers.max_body)).get("token", {})
            expires = wanted.get("expires_in") if isinstance(wanted, dict) else None
            if expires is not None and (isinstance(expires, bool) or not isinstance(expires, int | float)):
                raise BadRequest("token.expires_in must be a number of seconds", field="expires_in")
        secret = await run_in_threadpool(handlers.store.run, lambda s: issue_member_token(s, ctx, project_id, expires))
        return Json({"token": {"project_id": project_id, "role": "member", "secret": secret}},
                            status_code=201)

    @api.delete("/OS-OVNET/projects/{project_id}/tokens")
    async def revoke(project_id: str, request: Request) -> dict:
        # One token is named in X-Subject-Token, as Keystone's DELETE /v3/auth/tokens does (never in
        # the URL, which ends up in logs); without it every token of the project goes.
        ctx = await handlers.context(request)
        subject = request.headers.get("x-subject-token")
        gone = await run_in_threadpool(handlers.store.run, lambda s: revoke_tokens(s, ctx, project_id, subject))
        return {"revoked": gone}

    @api.get("/OS-OVNET/token_counts")
    async def list_token_counts(request: Request) -> dict:
        ctx = await handlers.context(request)
        return {"token_counts": await run_in_threadpool(handlers.store.run, lambda s: token_counts(s, ctx), True)}

    return api
