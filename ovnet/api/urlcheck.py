"""Refuse request paths and query strings that are not valid UTF-8 once percent-decoded.

Starlette decodes them leniently (an invalid sequence becomes U+FFFD), so without this check a
tag or filter value would silently differ from what the client sent, or a lone surrogate's
bytes would reach the store. Neutron's WSGI stack answers 400 for such a URL, and so do we.
"""

from __future__ import annotations

from urllib.parse import unquote_to_bytes

from starlette.types import ASGIApp, Receive, Scope, Send

from ovnet.api.errors import keystone_error, neutron_error


def _valid(raw: bytes) -> bool:
    try:
        unquote_to_bytes(raw).decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


class Utf8Url:
    """ASGI middleware: 400 (NeutronError HTTPBadRequest, Keystone's format under /v3) when the
    raw path or the query string of an HTTP request does not decode as UTF-8."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            raw_path = scope.get("raw_path") or scope["path"].encode("utf-8", "surrogateescape")
            for part, raw in (("path", raw_path), ("query string", scope.get("query_string", b""))):
                if not _valid(raw):
                    message = f"Invalid request {part}: it is not valid UTF-8 once percent-decoded"
                    if scope["path"] == "/v3" or scope["path"].startswith("/v3/"):
                        response = keystone_error(400, message)
                    else:
                        response = neutron_error(400, "HTTPBadRequest", message, part)
                    await response(scope, receive, send)
                    return
        await self.app(scope, receive, send)
