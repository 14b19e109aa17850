"""``ovnet project create|list|token``: projects (tenants) and their member tokens, on the server's store."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import typer
import yaml
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ovnet.apiclient import cloud_entry
from ovnet.config import Settings, load_settings
from ovnet.model.errors import ModelError
from ovnet.model.store import Store
from ovnet.model.tenancy import (
    OPERATOR,
    create_project,
    find_projects,
    issue_token,
    project_by_name,
    revoke_tokens,
    token_counts,
)

app = typer.Typer(help="Projects (tenants) and their tokens.", no_args_is_help=True)
STATE_DIR = typer.Option(None, "--state-dir", envvar="OVNET_STATE_DIR",
                         help="State directory (default /var/lib/ovnet).")


@contextmanager
def _store(state_dir: Path | None) -> Iterator[tuple[Settings, Callable]]:
    """The settings and a ``run(fn)`` on the migrated store; a ModelError is printed, exit status 1."""
    settings = load_settings(state_dir)
    if not settings.state_dir.is_dir():
        typer.echo(f"error: no ovnet state in {settings.state_dir}; run `ovnet up` first", err=True)
        raise typer.Exit(1)
    store = Store(settings.sql_url)
    try:
        store.migrate()
        yield settings, store.run
    except ModelError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(1) from None
    finally:
        store.dispose()


def _print_token(settings: Settings, name: str, project_id: str, token: str) -> None:
    typer.echo(f"project: {name} ({project_id})")
    typer.echo(f"token: {token}")
    typer.echo("clouds.yaml entry:")
    typer.echo(yaml.safe_dump({"clouds": {f"ovnet-{name}": cloud_entry(settings.api_url, token)}},
                              default_flow_style=False).rstrip())


@app.command("create")
def create(name: str = typer.Argument(..., help="Project name: 1 to 64 letters, digits, '-', '_', '.'."),
           state_dir: Path = STATE_DIR) -> None:
    """Create project NAME and print its member token and a clouds.yaml entry (cloud ovnet-NAME)."""
    def work(session) -> tuple[str, str]:
        project = create_project(session, name)
        return project.id, issue_token(session, project.id, "member")

    with _store(state_dir) as (settings, run):
        project_id, token = run(work)
    _print_token(settings, name, project_id, token)


@app.command("token")
def token(name: str = typer.Argument(..., help="An existing project's name."),
          expires: float = typer.Option(None, "--expires", min=1, help="Seconds until the new token expires "
                                        "(default: valid until revoked)."),
          revoke: str = typer.Option(None, "--revoke", help="Revoke this token of the project instead of issuing "
                                     "one ('all': every token of the project); the API refuses it on the next "
                                     "request."),
          state_dir: Path = STATE_DIR) -> None:
    """Issue a new member token for project NAME; print it and its clouds.yaml entry. Older tokens stay valid
    until revoked (--revoke) or expired (--expires)."""
    if revoke is not None and expires is not None:
        typer.echo("error: --revoke and --expires do not go together", err=True)
        raise typer.Exit(2)
    if revoke is not None:
        def revoke_work(session) -> int:
            project = project_by_name(session, OPERATOR, name)
            return revoke_tokens(session, OPERATOR, project.id, None if revoke == "all" else revoke)

        with _store(state_dir) as (_settings, run):
            gone = run(revoke_work)
        typer.echo(f"revoked {gone} token(s) of project {name}")
        return

    def work(session) -> tuple[str, str]:
        project = project_by_name(session, OPERATOR, name)
        return project.id, issue_token(session, project.id, "member", expires_in_s=expires)

    with _store(state_dir) as (settings, run):
        project_id, secret = run(work)
    _print_token(settings, name, project_id, secret)


@app.command("list")
def list_(state_dir: Path = STATE_DIR) -> None:
    """List projects: name, id and how many tokens each holds (token values are never shown)."""
    def work(session) -> list[tuple[str, str, int]]:
        counts = token_counts(session, OPERATOR)
        return [(p.name, p.id, counts.get(p.id, 0)) for p in find_projects(session, OPERATOR)]

    with _store(state_dir) as (_settings, run):
        rows = run(work, True)
    table = Table("name", "id", "tokens")
    for name, project_id, count in rows:
        table.add_row(escape(name), project_id, str(count))
    Console(width=200).print(table)
