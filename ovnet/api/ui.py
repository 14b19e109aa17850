"""The read-only topology page: ``GET /ui`` (one HTML file) and ``/ui/static/...`` (its script,
style and the vendored cytoscape library with its LICENSE; nothing is fetched from elsewhere).

The page holds no data of its own: its script reads the Neutron API (and Keystone's project
list, admin only) with the token the user types, so it sees exactly what that token sees. The
Content-Security-Policy allows only this server's own scripts, styles and API.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

UI_DIR = Path(__file__).parent / "ui"
SECURITY_HEADERS = {
    # cytoscape sets inline styles on its canvas; no inline script is allowed.
    "Content-Security-Policy": "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
                               "frame-ancestors 'none'; form-action 'none'",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
}


def install(app: FastAPI) -> None:
    """Serve the page at ``/ui`` and its files under ``/ui/static``."""
    app.mount("/ui/static", StaticFiles(directory=UI_DIR / "static"), name="ui-static")

    @app.get("/ui", include_in_schema=False)
    def page() -> FileResponse:
        return FileResponse(UI_DIR / "index.html", media_type="text/html", headers=SECURITY_HEADERS)
