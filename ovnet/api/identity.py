"""A read-only slice of Keystone's Identity API v3: the projects, for clients that know one by name.

``GET /v3/projects[?name=N][&domain_id=D]`` -> ``{"projects": [...], "links": {...}}`` and
``GET /v3/projects/{id}`` -> ``{"project": {...}}`` (Keystone API v3 "Projects"). ovnet has one
domain, ``default``. Admin tokens only (Keystone's default policy): a member gets 403, no token 401.
Errors under /v3 are in Keystone's format, ``{"error": {"code", "title", "message"}}`` (see errors.py),
because the clients of these paths are Keystone clients.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from ovnet.model.schema import Project
from ovnet.model.tenancy import find_projects, get_project

DOMAIN_ID = "default"


def _project(request: Request, project: Project) -> dict:
    href = str(request.base_url).rstrip("/") + f"/v3/projects/{project.id}"
    return {"id": project.id, "name": project.name, "domain_id": DOMAIN_ID, "parent_id": DOMAIN_ID,
            "description": "", "enabled": True, "is_domain": False, "links": {"self": href}}


def router(handlers) -> APIRouter:
    """The /v3/projects routes over ``handlers`` (routes.Handlers: store and authenticator)."""
    api = APIRouter(prefix="/v3")

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

    return api
