"""The ``.json`` format suffix of Neutron's URLs: ``GET /v2.0/networks.json`` is ``GET /v2.0/networks``.

Neutron's router (python-routes with a ``{.format}`` suffix) serves every /v2.0 path with or
without ``.json``, and older clients and scripts still send it; JSON is the only format here.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

SUFFIX = ".json"


class JsonSuffix:
    """ASGI middleware: an HTTP request under /v2.0 whose path ends in ``.json`` is routed as the
    path without it (``path`` and ``raw_path`` both)."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] == "http" and path.startswith("/v2.0/") and path.endswith(SUFFIX):
            scope = {**scope, "path": path[:-len(SUFFIX)]}
            raw = scope.get("raw_path")
            if raw is not None and raw.endswith(SUFFIX.encode()):
                scope["raw_path"] = raw[:-len(SUFFIX)]
        await self.app(scope, receive, send)
