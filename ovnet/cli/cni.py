"""``ovnet cni install|uninstall``: an ovnet network as a CNI network for Podman and containerd."""

from __future__ import annotations

from pathlib import Path

import httpx
import typer

from ovnet.apiclient import ApiClient, ApiError
from ovnet.config import load_settings
from ovnet.host.cni import install as cni_install
from ovnet.host.cni.protocol import POOL_MAX

app = typer.Typer(help="CNI networks (Podman, containerd) on ovnet networks.", no_args_is_help=True)

StateDir = typer.Option(None, "--state-dir", envvar="OVNET_STATE_DIR", help="State directory (default /var/lib/ovnet).")
ConfDir = typer.Option(cni_install.DEFAULT_CONF_DIR, "--conf-dir", help="The runtime's CNI config directory.")
BinDir = typer.Option(None, "--bin-dir", help="A CNI plugin directory (repeatable; default /usr/lib/cni and /opt/cni/bin).")


def _bin_dirs(given: list[Path] | None) -> list[Path]:
    return list(given) if given else list(cni_install.DEFAULT_BIN_DIRS)


@app.command("install")
def install(
    network: str = typer.Argument(..., help="ovnet network (name or id)."),
    project: str = typer.Option(None, "--project", help="Project of the network (name or id)."),
    name: str = typer.Option(None, "--name", help="CNI network name (default: the ovnet network's name)."),
    pool: int = typer.Option(0, "--pool", min=0, max=POOL_MAX,
                             help="Ready ports the agent keeps for this network (faster ADDs; each holds an address)."),
    conf_dir: Path = ConfDir, bin_dir: list[Path] = BinDir, state_dir: Path = StateDir,
) -> None:
    """Write NAME.conflist for NETWORK into --conf-dir and the plugin `ovnet` into the bin dirs. Harmless to repeat.

    Example: ovnet cni install net1 --project tenant-a && podman run --network net1 ...
    """
    if name is not None:
        try:  # a malformed --name is a usage error (exit 2), told before the API is asked
            cni_install.check_name(name)
        except ValueError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2) from None
    settings = load_settings(state_dir)
    try:
        with ApiClient.from_settings(settings) as api:
            project_id = _project(api, project) if project else None
            found = _networks(api, network, project_id)
    except (OSError, ApiError, httpx.HTTPError) as exc:
        typer.echo(f"error: cannot look the network up in the ovnet API ({exc}); is ovnet up?", err=True)
        raise typer.Exit(1) from None
    where = f" in project {project}" if project else ""
    if not found:
        typer.echo(f"error: ovnet network {network!r} does not exist{where}", err=True)
        raise typer.Exit(1)
    if len(found) > 1:
        typer.echo(f"error: more than one ovnet network is named {network!r}{where}; name it by id", err=True)
        raise typer.Exit(1)
    net = found[0]
    try:
        config = cni_install.conflist(name or net["name"], net["id"], net["project_id"], settings.agent_socket, pool)
    except ValueError as exc:
        typer.echo(f"error: {exc} (give one with --name)", err=True)
        raise typer.Exit(2) from None
    for path in cni_install.install(config, conf_dir, _bin_dirs(bin_dir)):
        typer.echo(f"wrote {path}")
    try:
        cni_install.record_install(settings.state_dir, conf_dir, _bin_dirs(bin_dir))
    except OSError as exc:
        typer.echo(f"warning: {conf_dir} not recorded in {settings.state_dir} ({exc}): `ovnet project delete "
                   f"--cascade` will not find this conflist there", err=True)
    typer.echo(f"CNI network {config['name']} -> ovnet network {net['name']} ({net['id']}): "
               f"podman run --network {config['name']} ...")
    first = cni_install.read_before(conf_dir, config["name"])
    if first:
        typer.echo(f"warning: {first[0].name} sorts before {config['name']}.conflist in {conf_dir}: a runtime that "
                   f"takes the first configuration (ctr run --cni) gets {first[0].name}; podman names its network "
                   f"and is not affected. To make this one the first, install it with a --name that sorts before "
                   f"{first[0].name} (e.g. --name 00-{config['name']})", err=True)


def _networks(api: ApiClient, ref: str, project_id: str | None) -> list[dict]:
    """The networks ``ref`` names: the one with that id, else those with that name (in the project)."""
    try:
        found = [api.show_network(ref)]
    except ApiError as exc:
        if exc.status not in (400, 404):
            raise
        found = api.list_networks(name=ref)
    return [n for n in found if project_id is None or n["project_id"] == project_id]


def _project(api: ApiClient, ref: str) -> str:
    found = api.find_project(ref)
    if found is None:
        typer.echo(f"error: no project {ref!r}", err=True)
        raise typer.Exit(1)
    return found["id"]


@app.command("uninstall")
def uninstall(
    name: str = typer.Argument(..., help="CNI network name."),
    conf_dir: Path = ConfDir, bin_dir: list[Path] = BinDir,
) -> None:
    """Remove NAME.conflist; the plugin too once no ovnet network is left in --conf-dir. Harmless to repeat.

    Example: ovnet cni uninstall net1
    """
    try:
        cni_install.check_name(name)
    except ValueError as exc:  # a malformed argument is a usage error (exit 2), as for `install --name`
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    try:
        removed = cni_install.uninstall(name, conf_dir, _bin_dirs(bin_dir))
    except ValueError as exc:  # the conflist is another plugin's: refused
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    for path in removed:
        typer.echo(f"removed {path}")
    if not removed:
        typer.echo(f"nothing to remove for {name}")
