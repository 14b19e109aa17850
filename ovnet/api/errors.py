"""ModelError and HTTP errors as Neutron's wire format: {"NeutronError": {"type", "message", "detail"}}.

Status codes follow Neutron's fault map: bad input 400, no/invalid token 401, policy 403,
missing or invisible 404, conflicting state 409.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from ovnet.model.errors import BadRequest, Conflict, Forbidden, ModelError, NotAuthorized, NotFound

STATUS = {BadRequest: 400, NotAuthorized: 401, Forbidden: 403, NotFound: 404, Conflict: 409}
HTTP_TYPES = {400: "HTTPBadRequest", 401: "NotAuthorized", 403: "PolicyNotAuthorized", 404: "HTTPNotFound",
              405: "HTTPMethodNotAllowed", 409: "HTTPConflict"}


def neutron_error(status: int, type_: str, message: str, detail: str = "") -> JSONResponse:
    """A NeutronError response with ``status``."""
    return JSONResponse({"NeutronError": {"type": type_, "message": message, "detail": detail}}, status_code=status)


def status_of(exc: ModelError) -> int:
    """The HTTP status of a model error (500 for the bare base class, which the model never raises)."""
    for kind, status in STATUS.items():
        if isinstance(exc, kind):
            return status
    return 500


def install(app: FastAPI) -> None:
    """Register the handlers that turn every error into a NeutronError body."""

    @app.exception_handler(ModelError)
    async def _model_error(_request: Request, exc: ModelError) -> JSONResponse:
        return neutron_error(status_of(exc), exc.type, exc.message, exc.field or "")

    @app.exception_handler(HTTPException)
    async def _http_error(_request: Request, exc: HTTPException) -> JSONResponse:
        return neutron_error(exc.status_code, HTTP_TYPES.get(exc.status_code, "HTTPError"), str(exc.detail))

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
        field = ".".join(str(p) for p in first.get("loc", ())[1:])
        return neutron_error(400, "HTTPBadRequest", f"Invalid input for {field}: {first.get('msg', '')}", field)
