"""``ovnet project create|list|token|delete``: projects (tenants) and their member tokens, through the API.

The commands call ovnet-server's /v3 routes (ovnet.api.identity) with the installation's admin
token, at ``settings.api_endpoints``; they never open the SQL store, so they work from any machine
that has the admin token and reaches an API server.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import typer
import yaml
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ovnet.apiclient import ApiClient, ApiError, cloud_entry, unreachable
from ovnet.config import Settings, load_settings
from ovnet.host.cni import install as cni_install
from ovnet.model.errors import BadRequest
from ovnet.model.tenancy import check_project_name

app = typer.Typer(help="Projects (tenants) and their tokens.", no_args_is_help=True)
STATE_DIR = typer.Option(None, "--state-dir", envvar="OVNET_STATE_DIR",
                         help="State directory (default /var/lib/ovnet).")


@contextmanager
def _admin(state_dir: Path | None) -> Iterator[tuple[Settings, ApiClient]]:
    """The settings and an admin ApiClient; API errors and an unreachable API print one line and
    exit with status 1."""
    settings = load_settings(state_dir)
    try:
        token = settings.admin_token_file.read_text().strip()
    except OSError:
        typer.echo(f"error: no admin token at {settings.admin_token_file}; run `ovnet up` first", err=True)
        raise typer.Exit(1) from None
    try:
        with ApiClient(settings.api_endpoints, token) as api:
            yield settings, api
    except ApiError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(1) from None
    except httpx.TransportError as exc:
        typer.echo(f"error: {unreachable(settings.api_endpoints, exc)}", err=True)
        raise typer.Exit(1) from None


def _print_token(settings: Settings, name: str, project_id: str, token: str) -> None:
    typer.echo(f"project: {name} ({project_id})")
    typer.echo(f"token: {token}")
    typer.echo("clouds.yaml entry:")
    typer.echo(yaml.safe_dump({"clouds": {f"ovnet-{name}": cloud_entry(settings.api_url, token)}},
                              default_flow_style=False).rstrip())


@app.command("create")
def create(name: str = typer.Argument(..., help="Project name: 1 to 64 letters, digits, '-', '_', '.'."),
           state_dir: Path = STATE_DIR) -> None:
    """Create project NAME and print its member token and a clouds.yaml entry (cloud ovnet-NAME).

    Example: ovnet project create tenant-a
    """
    try:  # a malformed name is a usage error (exit 2), told before any token or server is needed
        check_project_name(name)
    except BadRequest as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(2) from None
    with _admin(state_dir) as (settings, api):
        project = api.create_project(name)
        token = api.issue_token(project["id"])
    _print_token(settings, name, project["id"], token)


@app.command("token")
def token(name: str = typer.Argument(..., help="An existing project's name or id."),
          expires: float = typer.Option(None, "--expires", min=1, help="Seconds until the new token expires "
                                        "(default: valid until revoked)."),
          revoke: str = typer.Option(None, "--revoke", help="Revoke this token of the project instead of issuing "
                                     "one ('all': every token of the project); the API refuses it from the next "
                                     "request on."),
          state_dir: Path = STATE_DIR) -> None:
    """Issue a new member token for project NAME; print it and its clouds.yaml entry. Older tokens stay valid
    until revoked (--revoke) or expired (--expires).

    Example: ovnet project token tenant-a --expires 86400
    """
    if revoke is not None and expires is not None:
        typer.echo("error: --revoke and --expires do not go together", err=True)
        raise typer.Exit(2)
    with _admin(state_dir) as (settings, api):
        project = api.find_project(name)  # its id, else its (unique) name
        if project is None:
            raise ApiError(404, "Not Found", f"Could not find project: {name}.")
        if revoke is not None:
            gone = api.revoke_tokens(project["id"], None if revoke == "all" else revoke)
            typer.echo(f"revoked {gone} token(s) of project {project['name']}")
            return
        secret = api.issue_token(project["id"], expires)
    _print_token(settings, project["name"], project["id"], secret)


@app.command("list")
def list_(state_dir: Path = STATE_DIR) -> None:
    """List projects: name, id and how many tokens each holds (token values are never shown).

    Example: ovnet project list
    """
    with _admin(state_dir) as (_settings, api):
        projects, counts = api.list_projects(), api.token_counts()
    table = Table("name", "id", "tokens")
    for project in projects:
        table.add_row(escape(project["name"]), project["id"], str(counts.get(project["id"], 0)))
    Console(width=200).print(table)


@app.command("delete")
def delete(name: str = typer.Argument(..., help="An existing project's name or id."),
           cascade: bool = typer.Option(False, "--cascade", help="Delete what the project owns first (floating "
                                        "IPs, routers, ports, subnets, networks, security groups, subnet pools); "
                                        "without it a project that owns anything is refused."),
           state_dir: Path = STATE_DIR) -> None:
    """Delete project NAME and revoke its tokens. Refused while it owns resources unless --cascade;
    all or nothing: if any resource cannot go (another project's port on its network), nothing is deleted.

    Example: ovnet project delete tenant-a --cascade
    """
    with _admin(state_dir) as (settings, api):
        project = api.find_project(name)
        if project is None:
            raise ApiError(404, "Not Found", f"Could not find project: {name}.")
        gone = api.delete_project(project["id"], cascade)
    what = ", ".join(f"{n} {plural}" for plural, n in gone.items() if n)
    typer.echo(f"deleted project {project['name']}" + (f" and {what}" if what else ""))
    # Its networks are gone, so the CNI networks `ovnet cni install` made of them could only fail.
    removed, left = cni_install.remove_project(settings.state_dir, project["id"])
    for path in removed:
        typer.echo(f"removed {path}")
    for line in left:
        typer.echo(f"warning: {line}", err=True)
