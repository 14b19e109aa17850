"""Query-string handling of list requests: filters, fields, sorting, pagination links (Neutron v2.0)."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlencode

from starlette.datastructures import URL, QueryParams

from ovnet.model.errors import BadRequest

CONTROL = ("fields", "limit", "marker", "sort_key", "sort_dir", "page_reverse")


@dataclass
class ListRequest:
    """A parsed list query: ``filters`` attribute -> values (ORed), ``fields`` to keep (empty: all)."""

    filters: dict[str, list[str]] = field(default_factory=dict)
    fields: list[str] = field(default_factory=list)
    sorts: list[tuple[str, str]] = field(default_factory=list)
    limit: int | None = None
    marker: str | None = None
    page_reverse: bool = False


def parse(items: list[tuple[str, str]]) -> ListRequest:
    """Parse query items (repeated keys kept). BadRequest for a malformed limit or sort pairing."""
    req = ListRequest()
    keys, dirs = [], []
    for key, value in items:
        if key == "fields":
            req.fields.extend(v for v in value.split(",") if v)
        elif key == "limit":
            if not value.isdigit():
                raise BadRequest(f"Invalid input for limit: must be an integer 0 or greater, not '{value}'",
                                 "HTTPBadRequest", "limit")
            req.limit = int(value) or None  # Neutron: limit=0 means no limit
        elif key == "marker":
            req.marker = value
        elif key == "sort_key":
            keys.append(value)
        elif key == "sort_dir":
            dirs.append(value)
        elif key == "page_reverse":
            # Neutron's api_common.get_page_reverse: "true" in any case; anything else is false.
            req.page_reverse = value.lower() == "true"
        else:
            req.filters.setdefault(key, []).append(value)
    if len(dirs) > len(keys):
        raise BadRequest("The number of sort_keys and sort_dirs must be same", "HTTPBadRequest", "sort_dir")
    req.sorts = list(zip(keys, dirs + ["asc"] * (len(keys) - len(dirs))))
    return req


def select_fields(item: dict, fields: list[str]) -> dict:
    """``item`` reduced to ``fields`` (all of it when ``fields`` is empty; unknown names ignored)."""
    return {k: item[k] for k in fields if k in item} if fields else item


def links(url: URL, req: ListRequest, ids: list[str], more: bool) -> list[dict]:
    """The ``*_links`` of a page: "next" when more rows follow, "previous" when rows precede."""
    if req.limit is None or not ids:
        return []
    kept = [(k, v) for k, v in QueryParams(url.query).multi_items() if k not in ("marker", "page_reverse")]
    after = more if not req.page_reverse else bool(req.marker)
    before = bool(req.marker) if not req.page_reverse else more
    result = []
    if after:
        result.append({"rel": "next", "href": str(url.replace(query=urlencode([*kept, ("marker", ids[-1])])))})
    if before:
        query = urlencode([*kept, ("marker", ids[0]), ("page_reverse", "True")])
        result.append({"rel": "previous", "href": str(url.replace(query=query))})
    return result
