"""Discovery documents: the version list (GET /), the v2.0 resource list and the extensions.

Only extensions whose attributes and behaviour ovnet implements are listed, so clients that
probe for an alias before using a feature never get a promise ovnet cannot keep.
"""

from __future__ import annotations

from fastapi import APIRouter, Request

from ovnet.model.errors import NotFound
from ovnet.model.registry import Kind

UPDATED = "2026-11-29T00:00:00-00:00"
EXTENSIONS = {
    "binding": ("Port Binding", "binding:host_id, binding:vif_type, binding:vnic_type, binding:profile."),
    "allowed-address-pairs": ("Allowed Address Pairs", "Extra IP/MAC pairs a port may send from."),
    "port-security": ("Port Security", "port_security_enabled on networks and ports."),
    "net-mtu": ("Network MTU", "The mtu attribute of networks."),
    "project-id": ("project_id field enabled", "project_id alongside tenant_id."),
    "standard-attr-description": ("standard-attr-description", "description on every resource."),
    "standard-attr-timestamp": ("Resource timestamps", "created_at and updated_at on every resource."),
    "standard-attr-revisions": ("Resource revision numbers", "revision_number on every resource."),
    "standard-attr-tag": ("Tag support for resources", "Tags on networks, subnets and ports."),
    "revision-if-match": ("If-Match constraints based on revision_number",
                          "If-Match: revision_number=N on PUT and DELETE; 412 when the revision differs."),
    "pagination": ("Pagination support", "limit and marker with *_links."),
    "sorting": ("Sorting support", "sort_key and sort_dir."),
    "filter-validation": ("Filter parameters validation", "Unknown filters are refused with 400."),
    "rbac-policies": ("RBAC Policies", "Networks shared with (access_as_shared) or external to "
                      "(access_as_external) one project or all."),
    "quotas": ("Quota management support", "Per-project limits on networks, subnets, ports, RBAC policies."),
    "quota_details": ("Quota details management support", "Limits with what each project uses."),
    "quota-check-limit": ("Quota engine limit check", "check_limit refuses a limit below the current usage."),
}


def _extension(alias: str, name: str, description: str) -> dict:
    return {"alias": alias, "name": name, "description": description, "updated": UPDATED, "links": []}


def router(kinds: list[Kind], others: list[tuple[str, str]] = ()) -> APIRouter:
    """Routes of GET /, GET /v2.0/, GET /v2.0/extensions[/{alias}] for the registry ``kinds`` and
    the ``others`` collections served outside it ([(singular, plural)]); the extensions are
    EXTENSIONS plus those the kinds declare."""
    api = APIRouter()
    resources = [*((k.name, k.collection) for k in kinds), *others]
    known = dict(EXTENSIONS)
    for kind in kinds:
        known.update(kind.extensions)

    @api.get("/")
    def versions(request: Request) -> dict:
        href = str(request.base_url).rstrip("/") + "/v2.0/"
        return {"versions": [{"id": "v2.0", "status": "CURRENT", "links": [{"href": href, "rel": "self"}]}]}

    @api.get("/v2.0")
    @api.get("/v2.0/")
    def resource_list(request: Request) -> dict:
        base = str(request.base_url).rstrip("/") + "/v2.0/"
        return {"resources": [{"name": s, "collection": p, "links": [{"href": base + p, "rel": "self"}]}
                              for s, p in resources]}

    @api.get("/v2.0/extensions")
    def extensions() -> dict:
        return {"extensions": [_extension(alias, *known[alias]) for alias in known]}

    @api.get("/v2.0/extensions/{alias}")
    def extension(alias: str) -> dict:
        if alias not in known:
            raise NotFound(f"Extension with alias {alias} does not exist", "HTTPNotFound")
        return {"extension": _extension(alias, *known[alias])}

    return api
