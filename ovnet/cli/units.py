"""``ovnet install-units``: systemd units that run what ``ovnet up`` runs (ovnet.runtime.units)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import typer

from ovnet.config import ROLES, load_settings
from ovnet.runtime.roles import with_cluster_remotes
from ovnet.runtime.units import TARGET, render


def install_units(
    role: str = typer.Option("all-in-one", "--role", help=f"One of {', '.join(ROLES)}."),
    directory: Path = typer.Option(Path("/etc/systemd/system"), "--dir", help="Where to write the unit files."),
    state_dir: Path = typer.Option(None, "--state-dir", envvar="OVNET_STATE_DIR",
                                   help="State directory (default /var/lib/ovnet)."),
) -> None:
    """Write one systemd unit per daemon of ROLE plus ovnet.target (restart on failure, ordered as
    `ovnet up` starts them) and save the settings they read. Stop `ovnet up`'s processes first
    (`ovnet down`): the units start the same ones.

    Example: ovnet install-units --role compute && systemctl daemon-reload && systemctl enable --now ovnet.target
    """
    settings = load_settings(state_dir)
    try:
        units = render(settings, role)
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    # The units' processes read their role, ports, names and remotes from here.
    with_cluster_remotes(dataclasses.replace(settings, role=role)).save()
    directory.mkdir(parents=True, exist_ok=True)
    for name, text in units.items():
        (directory / name).write_text(text)
        typer.echo(f"  {directory / name}")
    typer.echo(f"{len(units)} units written for role {role}; start them with: "
               f"systemctl daemon-reload && systemctl enable --now {TARGET}")
