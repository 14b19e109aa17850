"""The one-line errors of commands that call the API server and a host's agent: a refusal is the
server's own type and message, an unreachable API server the line every command gives
(ovnet.apiclient.unreachable), an unreachable agent says it is the agent; each exits 1."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import typer

from ovnet.apiclient import ApiError, unreachable
from ovnet.config import Settings


@contextmanager
def failing(settings: Settings, what: str) -> Iterator[None]:
    """Refusals and unreachable servers inside the block as one ``error:`` line on stderr and exit
    status 1. ``what`` is "api" when the block calls only the API servers of ``settings``, else
    the name of what it calls ("agent")."""
    try:
        yield
    except ApiError as exc:
        typer.echo(f"error: {exc.type}: {exc.message}", err=True)
        raise typer.Exit(1) from None
    except httpx.HTTPError as exc:
        message = (unreachable(settings.api_endpoints, exc) if what == "api" and isinstance(exc, httpx.TransportError)
                   else f"{what} unreachable: {exc}")
        typer.echo(f"error: {message}", err=True)
        raise typer.Exit(1) from None
