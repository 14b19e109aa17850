"""ModelError and HTTP errors as Neutron's wire format: {"NeutronError": {"type", "message", "detail"}}.

Status codes follow Neutron's fault map: bad input 400, no/invalid token 401, policy 403,
missing or invisible 404, a method the path does not serve 405 (with ``Allow``: every method
some route of that path serves), conflicting state 409, a failed If-Match 412. A body over the size limit is 413 of type
HTTPRequestEntityTooLarge (the webob name Neutron's body-size middleware answers with); anything
unexpected is 500 of type HTTPInternalServerError, still in the same JSON format, never plain
text. Under /v3 (the Keystone slice, identity.py) the same statuses carry Keystone's format
instead: {"error": {"code", "title", "message"}}.
"""

from __future__ import annotations

from http import HTTPStatus

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.routing import Match

from ovnet.api.jsonresponse import Json
from ovnet.model.errors import BadRequest, Conflict, Forbidden, ModelError, NotAuthorized, NotFound, PreconditionFailed

STATUS = {BadRequest: 400, NotAuthorized: 401, Forbidden: 403, NotFound: 404, Conflict: 409, PreconditionFailed: 412}
HTTP_TYPES = {400: "HTTPBadRequest", 401: "NotAuthorized", 403: "PolicyNotAuthorized", 404: "HTTPNotFound",
              405: "HTTPMethodNotAllowed", 409: "HTTPConflict", 412: "HTTPPreconditionFailed",
              413: "HTTPRequestEntityTooLarge",
              500: "HTTPInternalServerError"}


def neutron_error(status: int, type_: str, message: str, detail: str = "",
                  headers: dict[str, str] | None = None) -> Json:
    """A NeutronError response with ``status``."""
    return Json({"NeutronError": {"type": type_, "message": message, "detail": detail}}, status_code=status,
                        headers=headers)


def keystone_error(status: int, message: str, headers: dict[str, str] | None = None) -> Json:
    """A Keystone v3 error response with ``status`` (title: the HTTP reason phrase)."""
    return Json({"error": {"code": status, "title": HTTPStatus(status).phrase, "message": message}},
                        status_code=status, headers=headers)


def _keystone_path(request: Request) -> bool:
    return request.url.path == "/v3" or request.url.path.startswith("/v3/")


def status_of(exc: ModelError) -> int:
    """The HTTP status of a model error (500 for the bare base class, which the model never raises)."""
    for kind, status in STATUS.items():
        if isinstance(exc, kind):
            return status
    return 500


METHODS = ("DELETE", "GET", "HEAD", "PATCH", "POST", "PUT")


def allowed_methods(app: FastAPI, request: Request) -> list[str]:
    """The methods of METHODS some route of ``app`` serves in full at ``request``'s path."""
    return [method for method in METHODS
            if any(route.matches({**request.scope, "method": method})[0] == Match.FULL for route in app.router.routes)]


def install(app: FastAPI) -> None:
    """Register the handlers that turn every error into a NeutronError body (Keystone's under /v3)."""

    @app.exception_handler(ModelError)
    async def _model_error(request: Request, exc: ModelError) -> Json:
        if _keystone_path(request):
            return keystone_error(status_of(exc), exc.message)
        return neutron_error(status_of(exc), exc.type, exc.message, exc.field or "")

    @app.exception_handler(HTTPException)
    async def _http_error(request: Request, exc: HTTPException) -> Json:
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            # Starlette names only the methods of the first route that matched the path; the
            # path's other routes (one per method here) serve the rest (RFC 9110 §15.5.6).
            headers["Allow"] = ", ".join(allowed_methods(app, request))
        if _keystone_path(request):
            return keystone_error(exc.status_code, str(exc.detail), headers)
        return neutron_error(exc.status_code, HTTP_TYPES.get(exc.status_code, "HTTPError"), str(exc.detail),
                             headers=headers)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, _exc: Exception) -> Json:
        # Starlette re-raises the exception after this response, so the server log keeps the traceback;
        # the server then closes the connection, which the client must hear of (RFC 9112 §9.6) or
        # its next request on the kept-alive connection fails with a reset.
        message = "Request failed: the server hit an unexpected error; it has been logged."
        close = {"Connection": "close"}
        if _keystone_path(request):
            return keystone_error(500, message, close)
        return neutron_error(500, HTTP_TYPES[500], message, headers=close)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_request: Request, exc: RequestValidationError) -> Json:
        first = exc.errors()[0] if exc.errors() else {}
        field = ".".join(str(p) for p in first.get("loc", ())[1:])
        return neutron_error(400, "HTTPBadRequest", f"Invalid input for {field}: {first.get('msg', '')}", field)
