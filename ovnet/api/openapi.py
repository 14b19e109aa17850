"""What the OpenAPI document (GET /openapi.json) says of each route: request bodies built from the
model's attribute tables and the status codes with the bodies the route really answers.

The handlers read their bodies themselves (``body.read_json``: Neutron's size limit and errors),
so FastAPI cannot derive the request schema; it is declared here instead, loosely typed from each
attribute's check (strings, integers, booleans, lists, objects), so a generator such as
schemathesis sends bodies that reach the model's validation rather than stopping at the JSON
shape. Every error is NeutronError JSON (errors.py).
"""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import BaseModel

from ovnet.model import attributes
from ovnet.model.attributes import Attr


class NeutronFault(BaseModel):
    """The inner object of a Neutron error: the exception name, a sentence and the field at fault."""

    type: str
    message: str
    detail: str


class NeutronErrorBody(BaseModel):
    """Every 4xx/5xx answer of /v2.0: ``{"NeutronError": {"type", "message", "detail"}}``."""

    NeutronError: NeutronFault


REASONS = {400: "Bad request (invalid input)", 401: "No or unknown token", 403: "Forbidden by policy",
           404: "Not found or not visible", 409: "Conflicts with the current state",
           412: "If-Match revision_number does not hold", 413: "Body over the size limit"}
STRING, INTEGER, BOOLEAN = {"type": "string"}, {"type": "integer"}, {"type": "boolean"}
NAMED = {
    attributes.string: STRING, attributes.boolean: BOOLEAN, attributes.integer: INTEGER,
    attributes.uuid_string: {"type": "string", "format": "uuid"}, attributes.ip_address: STRING,
    attributes.cidr: STRING, attributes.ip_or_cidr: STRING, attributes.mac_address: STRING,
    attributes.mapping: {"type": "object"}, attributes.host_id: {"type": ["string", "null"]},
    attributes.nullable_string: {"type": ["string", "null"]},
    attributes.nullable_integer: {"type": ["integer", "null"]},
    attributes.nullable_uuid_string: {"type": ["string", "null"]},
    attributes.nullable_ip_address: {"type": ["string", "null"]}, attributes.ip_prefix: {"type": ["string", "null"]},
}
# Checks made by a factory (in_range(0, 128), list_of(...)) are closures, known by their factory.
FACTORIES = {"in_range": INTEGER, "list_of": {"type": "array"}, "record": {"type": "object"}}


def _schema_of(attr: Attr) -> dict:
    named = NAMED.get(attr.check)
    if named is not None:
        return named
    return FACTORIES.get(attr.check.__qualname__.split(".")[0], {})


def request_body(name: str, attrs: Mapping[str, Attr], create: bool, bulk_plural: str | None = None) -> dict:
    """``openapi_extra`` declaring the JSON body ``{name: {...}}`` (create: the attributes POST
    takes, the required ones required; else those PUT takes), or with ``bulk_plural`` also
    ``{plural: [{...}, ...]}`` (Neutron's bulk create)."""
    allowed = {k: a for k, a in attrs.items() if (a.post if create else a.put)}
    inner = {"type": "object", "properties": {k: _schema_of(a) for k, a in allowed.items()}}
    required = [k for k, a in allowed.items() if create and a.required]
    if required:
        inner["required"] = required
    one = {"type": "object", "properties": {name: inner}, "required": [name]}
    schema = one
    if bulk_plural:
        many = {"type": "object", "properties": {bulk_plural: {"type": "array", "items": inner, "minItems": 1}},
                "required": [bulk_plural]}
        schema = {"oneOf": [one, many]}
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


def responses(success: int | None, key: str | None, *errors: int) -> dict:
    """FastAPI ``responses``: ``success`` with a body holding ``key`` (None: no body, as 204),
    and each of ``errors`` with NeutronErrorBody. 401 is always possible (every route needs a
    token) and so is 400 (a malformed path, query or body)."""
    out: dict = {}
    if success is not None:
        body = {"description": "Success"}
        if key is not None:
            body["content"] = {"application/json": {"schema": {"type": "object", "required": [key],
                                                                "properties": {key: {}}}}}
        out[success] = body
    for code in sorted({400, 401, *errors}):
        out[code] = {"model": NeutronErrorBody, "description": REASONS[code]}
    return out


def document(app) -> dict:
    """The app's OpenAPI document, built once. FastAPI's 422 (its own validation errors) is
    dropped: errors.py answers those with 400, which every operation documents. An operation
    that lists no error of its own (the Keystone slice, discovery) gets a ``default`` response
    in NeutronError form; /v3's errors carry Keystone's format instead (errors.py)."""
    if app.openapi_schema is None:
        from fastapi.openapi.utils import get_openapi

        schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
        for path in schema["paths"].values():
            for operation in path.values():
                answers = operation.setdefault("responses", {})
                answers.pop("422", None)
                if not any(code.startswith(("4", "5")) for code in answers):
                    answers["default"] = {"description": "An error (NeutronError; Keystone's format under /v3)"}
        schema.get("components", {}).get("schemas", {}).pop("HTTPValidationError", None)
        schema.get("components", {}).get("schemas", {}).pop("ValidationError", None)
        app.openapi_schema = schema
    return app.openapi_schema
