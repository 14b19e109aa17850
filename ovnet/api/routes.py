"""The Neutron v2.0 resources of the registry over HTTP, one set of routes per ``registry.Kind``.

Handlers are async only to read the body and await the sync hook; every store access runs in
the threadpool (``run_in_threadpool``), so the event loop never blocks on SQL.
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter, Request, Response
from sqlalchemy.orm import selectinload
from starlette.concurrency import run_in_threadpool

from ovnet.api import listing
from ovnet.api.openapi import request_body, responses
from ovnet.api.body import parse_json, read_body, read_json, unwrap
from ovnet.api.jsonresponse import Json
from ovnet.model import query, tags
from ovnet.model.common import Defaults, check_revision, get_visible
from ovnet.model.errors import BadRequest, NotFound
from ovnet.model.registry import Kind
from ovnet.model.store import Store
from ovnet.model.tenancy import Context


class Handlers:
    """What the routes share: the store, the authenticator, defaults, body limit and commit hook."""

    def __init__(self, store: Store, auth, defaults: Defaults, max_body: int,
                 on_commit: Callable[[float], bool] | None, commit_timeout_s: float):
        self.store, self.auth, self.defaults = store, auth, defaults
        self.max_body, self.on_commit, self.commit_timeout_s = max_body, on_commit, commit_timeout_s

    async def context(self, request: Request) -> Context:
        return await self.context_of(request.headers.get("x-auth-token"))

    async def context_of(self, token: str | None) -> Context:
        return await run_in_threadpool(self.auth.context, token)

    async def write(self, fn: Callable, status: int, wait: bool = True) -> Response:
        """Run ``fn(session)`` in a retried write transaction, then let the syncer confirm NB
        (without ``wait`` only wake it: the answer says ``pending``)."""
        result, synced = await run_in_threadpool(self._commit_and_confirm, fn, wait)
        headers = {"X-Ovnet-Sync": "confirmed" if synced else "pending"}
        if result is None:
            return Response(status_code=status, headers=headers)
        return Json(result, status_code=status, headers=headers)

    def _commit_and_confirm(self, fn: Callable, wait: bool) -> tuple[object, bool]:
        # One threadpool call for both: a second hop (its thread handoff and event-loop wake-up)
        # per write cost more than the confirm itself when the syncer has nothing to wait for.
        result = self.store.run(fn)
        if self.on_commit is None:
            return result, True
        return result, self.on_commit(self.commit_timeout_s if wait else 0.0)


TAGS_BODY = {"requestBody": {"required": True, "content": {"application/json": {"schema": {
    "type": "object", "required": ["tags"], "properties": {"tags": {"type": "array", "items": {"type": "string"}}}}}}}}


def revision_wanted(request: Request) -> int | None:
    """The revision an ``If-Match: revision_number=N`` header asks for (None without one);
    BadRequest when N is not a non-negative integer. Other If-Match entries (entity tags) are
    not ovnet's to judge and are ignored, as Neutron's revision plugin does."""
    for entry in request.headers.get("if-match", "").split(","):
        name, _, value = entry.strip().partition("=")
        if name == "revision_number":
            if not value.isdigit() or len(value) > 18:
                raise BadRequest(f"Invalid If-Match header {entry.strip()!r}: revision_number must be an integer",
                                 "HTTPBadRequest", "If-Match")
            return int(value)
    return None


def waits_for_nb(request: Request) -> bool:
    """False when the client asked for the answer before NB confirms the write (request header
    ``X-Ovnet-Sync: nowait``): a host agent that next waits for ``ovn-installed``, or deletes a
    port nothing else refers to, gains nothing from the wait."""
    return request.headers.get("x-ovnet-sync", "").lower() != "nowait"


def _create_body(res: Kind, data: dict) -> tuple[list, bool]:
    if set(data) == {res.name}:
        return [data[res.name]], False
    if set(data) == {res.plural} and isinstance(data[res.plural], list) and data[res.plural]:
        return data[res.plural], True
    raise BadRequest(f"Resource body required: {{\"{res.name}\": {{...}}}} or {{\"{res.plural}\": [...]}}",
                     "HTTPBadRequest", res.name)


def _update_body(res: Kind, data: dict) -> dict:
    return unwrap(data, res.name)


def resource_router(res: Kind, h: Handlers) -> APIRouter:
    """Create (single and bulk), list, show, update, delete, tag and member-action routes of ``res``."""
    api = APIRouter(prefix=f"/v2.0/{res.collection}")
    extra = (h.defaults,) if "create" in res.needs_defaults else ()
    update_extra = (h.defaults,) if "update" in res.needs_defaults else ()
    show_options = tuple(selectinload(getattr(res.model, c.name)) for c in res.child_specs)

    @api.post("", status_code=201, responses=responses(201, res.name, 403, 404, 409, 413),
              openapi_extra=request_body(res.name, res.attributes, True, res.plural))
    async def create(request: Request) -> Response:
        token = request.headers.get("x-auth-token")
        body = await read_body(request, h.max_body)

        def work(session):
            # The token is checked in the create's own transaction: one transaction and one
            # threadpool call less per create; 401 still comes before any judgement of the body.
            ctx = h.auth.context_in(session, token)
            items, bulk = _create_body(res, parse_json(body, h.max_body))
            # create_many also for one item: it reads what the items share once and writes all
            # rows at the end, where create's queries each autoflushed the rows before it.
            if res.create_many is not None:
                rows = res.create_many(session, ctx, items, *extra)
            else:
                rows = [res.create(session, ctx, item, *extra) for item in items]
            made = [res.view(ctx, row) for row in rows]
            return {res.plural: made} if bulk else {res.name: made[0]}
        return await h.write(work, 201, waits_for_nb(request))

    @api.get("", responses=responses(200, res.plural, 404))  # 404: an unknown marker
    async def list_(request: Request) -> Response:
        ctx = await h.context(request)
        req = listing.parse(request.query_params.multi_items())
        if res.prepare_list is not None:
            await run_in_threadpool(h.store.run, lambda s: res.prepare_list(s, ctx))

        def work(session):
            rows, more = query.list_rows(session, ctx, res, req.filters, req.sorts, req.limit,
                                         req.marker, req.page_reverse)
            return [res.view(ctx, r) for r in rows], more
        items, more = await run_in_threadpool(h.store.run, work, True)
        page = {res.plural: [listing.select_fields(i, req.fields) for i in items]}
        page_links = listing.links(request.url, req, [i["id"] for i in items], more)
        if page_links:
            page[f"{res.plural}_links"] = page_links
        return Json(page)  # already JSON-ready: skip FastAPI's per-value encoder

    @api.get("/{resource_id}", responses=responses(200, res.name, 404))
    async def show(resource_id: str, request: Request) -> Response:
        ctx = await h.context(request)
        fields = listing.parse(request.query_params.multi_items()).fields
        item = await run_in_threadpool(
            h.store.run, lambda s: res.view(ctx, get_visible(s, ctx, res.model, resource_id, show_options)), True)
        return Json({res.name: listing.select_fields(item, fields)})  # JSON-ready: skip FastAPI's encoder

    @api.put("/{resource_id}", responses=responses(200, res.name, 403, 404, 409, 412, 413),
             openapi_extra=request_body(res.name, res.attributes, False))
    async def update(resource_id: str, request: Request) -> Response:
        ctx = await h.context(request)
        body = _update_body(res, await read_json(request, h.max_body))
        wanted = revision_wanted(request)

        def work(session):
            check_revision(session, ctx, res.model, resource_id, wanted)
            return {res.name: res.view(ctx, res.update(session, ctx, resource_id, body, *update_extra))}
        return await h.write(work, 200)

    @api.delete("/{resource_id}", status_code=204, responses=responses(204, None, 403, 404, 409, 412))
    async def delete(resource_id: str, request: Request) -> Response:
        ctx = await h.context(request)
        wanted = revision_wanted(request)

        def work(session):
            check_revision(session, ctx, res.model, resource_id, wanted)
            return res.delete(session, ctx, resource_id)
        return await h.write(work, 204, waits_for_nb(request))

    @api.get("/{resource_id}/tags", responses=responses(200, "tags", 404))
    async def get_tags(resource_id: str, request: Request) -> dict:
        ctx = await h.context(request)
        found = await run_in_threadpool(h.store.run, lambda s: tags.get_tags(s, ctx, res.model, resource_id), True)
        return {"tags": found}

    @api.put("/{resource_id}/tags", responses=responses(200, "tags", 403, 404, 413), openapi_extra=TAGS_BODY)
    async def put_tags(resource_id: str, request: Request) -> Response:
        ctx = await h.context(request)
        data = await read_json(request, h.max_body)
        wanted = unwrap(data, "tags", "[...]")
        return await h.write(lambda s: {"tags": tags.replace_tags(s, ctx, res.model, resource_id, wanted)}, 200)

    @api.delete("/{resource_id}/tags", status_code=204, responses=responses(204, None, 403, 404))
    async def delete_tags(resource_id: str, request: Request) -> Response:
        ctx = await h.context(request)
        return await h.write(lambda s: tags.remove_tag(s, ctx, res.model, resource_id, None), 204)

    @api.get("/{resource_id}/tags/{tag}", status_code=204, responses=responses(204, None, 404))
    async def check_tag(resource_id: str, tag: str, request: Request) -> Response:
        ctx = await h.context(request)
        found = await run_in_threadpool(h.store.run, lambda s: tags.get_tags(s, ctx, res.model, resource_id), True)
        if tag not in found:
            raise NotFound(f"Tag {tag} could not be found for {resource_id}.", "TagNotFound")
        return Response(status_code=204)

    @api.put("/{resource_id}/tags/{tag}", status_code=201, responses=responses(201, None, 403, 404))
    async def add_tag(resource_id: str, tag: str, request: Request) -> Response:
        ctx = await h.context(request)
        return await h.write(lambda s: tags.add_tag(s, ctx, res.model, resource_id, tag), 201)

    @api.delete("/{resource_id}/tags/{tag}", status_code=204, responses=responses(204, None, 403, 404))
    async def remove_tag(resource_id: str, tag: str, request: Request) -> Response:
        ctx = await h.context(request)
        return await h.write(lambda s: tags.remove_tag(s, ctx, res.model, resource_id, tag), 204)

    # After the tag routes, which take precedence for PUT .../tags.
    @api.put("/{resource_id}/{action}", responses=responses(200, None, 403, 404, 409, 413),
             openapi_extra={"requestBody": {"required": True, "content": {"application/json": {
                 "schema": {"type": "object"}}}}})
    async def member_action(resource_id: str, action: str, request: Request) -> Response:
        ctx = await h.context(request)
        if action not in res.actions:
            raise NotFound(f"The resource could not be found: action {action} of {res.plural}.", "HTTPNotFound",
                           "action")
        body = await read_json(request, h.max_body)
        extra = (h.defaults,) if res.actions[action].needs_defaults else ()
        return await h.write(lambda s: res.actions[action].run(s, ctx, resource_id, body, *extra), 200)

    return api
