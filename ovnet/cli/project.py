"""``ovnet project create NAME``: a project with a member token, printed as a clouds.yaml entry."""

from __future__ import annotations

from pathlib import Path

import typer
import yaml

from ovnet.apiclient import cloud_entry
from ovnet.config import load_settings
from ovnet.model.errors import ModelError
from ovnet.model.store import Store
from ovnet.model.tenancy import create_project, issue_token

app = typer.Typer(help="Projects (tenants) and their tokens.", no_args_is_help=True)


@app.command("create")
def create(
    name: str = typer.Argument(..., help="Project name (unique)."),
    state_dir: Path = typer.Option(None, "--state-dir", envvar="OVNET_STATE_DIR",
                                   help="State directory (default /var/lib/ovnet)."),
) -> None:
    """Create project NAME and print its member token and a clouds.yaml entry (cloud ovnet-NAME)."""
    settings = load_settings(state_dir)
    if not settings.state_dir.is_dir():
        typer.echo(f"error: no ovnet state in {settings.state_dir}; run `ovnet up` first", err=True)
        raise typer.Exit(1)
    store = Store(settings.sql_url)
    try:
        store.migrate()
        project_id, token = store.run(lambda s: _create(s, name))
    except ModelError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(1) from None
    finally:
        store.dispose()
    typer.echo(f"project: {name} ({project_id})")
    typer.echo(f"token: {token}")
    typer.echo("clouds.yaml entry:")
    typer.echo(yaml.safe_dump({"clouds": {f"ovnet-{name}": cloud_entry(settings.api_url, token)}},
                              default_flow_style=False).rstrip())


def _create(session, name: str) -> tuple[str, str]:
    project = create_project(session, name)
    return project.id, issue_token(session, project.id, "member")
