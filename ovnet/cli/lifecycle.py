"""``ovnet up|status|down``: start, show and stop this machine's role (the runtime library does the
work; this module prints its progress and its rows)."""

from __future__ import annotations

import sys
import time
from enum import Enum
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from ovnet.cli.port import unplug_all
from ovnet.config import DATAPATHS, MAX_PORT, central_remotes, load_settings
from ovnet.runtime import allinone, cleanup
from ovnet.runtime.process import RuntimeFailure
from ovnet.runtime.status import ServiceStatus, status_json

# Off a terminal rich would wrap at 80 columns and cut paths; status rows are for copying.
console = Console(width=None if sys.stdout.isatty() else 200)
err = Console(stderr=True, width=None if sys.stderr.isatty() else 200)

StateDir = typer.Option(None, "--state-dir", envvar="OVNET_STATE_DIR",
                        help="State directory (default /var/lib/ovnet).")


# --datapath's choices, so that typer refuses any other as a usage error (exit 2) before `up` writes anything.
Datapath = Enum("Datapath", {name: name for name in DATAPATHS}, type=str)


def _table(rows: list[ServiceStatus]) -> Table:
    table = Table("service", "pid", "alive", "healthy", "endpoint", "log")
    for r in rows:
        health = "[green]yes[/]" if r.healthy else f"[red]no[/] ({r.reason})"
        table.add_row(r.name, str(r.pid or "-"), "yes" if r.alive else "no", health, r.endpoint, r.log)
    return table


def up(
    state_dir: Path = StateDir,
    nb_port: int = typer.Option(None, min=1, max=MAX_PORT, help="TCP port of the OVN NB DB (default 6641)."),
    sb_port: int = typer.Option(None, min=1, max=MAX_PORT, help="TCP port of the OVN SB DB (default 6642)."),
    api_port: int = typer.Option(None, min=1, max=MAX_PORT, help="TCP port of the API server (default 9696)."),
    datapath: Datapath = typer.Option(None, case_sensitive=False,
                                 help="auto (default): system when the openvswitch kernel module loads, else "
                                      "netdev (userspace)."),
    role: str = typer.Option(None, help="all-in-one (default), central or compute."),
    central: str = typer.Option(None, help="compute: the central's address(es), comma-separated; sets "
                                           "--nb/--sb/--api from it and the ports."),
    nb: str = typer.Option(None, help="NB remotes (tcp:IP:6641,...) the syncer and CLI use."),
    sb: str = typer.Option(None, help="SB remotes (tcp:IP:6642,...) ovn-controller uses."),
    api: str = typer.Option(None, help="API URLs (http://IP:9696,...) the agent and CLI use."),
    encap_ip: str = typer.Option(None, help="compute: this host's Geneve tunnel address."),
    chassis_name: str = typer.Option(None, help="This host's OVN chassis name (default: host name)."),
    listen_host: str = typer.Option(None, help="Where this machine's NB, SB and API servers listen "
                                                "(default 127.0.0.1; 0.0.0.0 for other machines)."),
    sql_url: str = typer.Option(None, help="central: the model store several ovnet-servers share "
                                           "(postgresql://USER:PASSWORD@HOST/DB; default SQLite)."),
    cluster_size: int = typer.Option(None, help="central: 3 or 5 for Raft-clustered NB and SB (default 1)."),
    cluster_member: int = typer.Option(None, help="central on real machines: this machine is member N."),
    cluster_remotes: str = typer.Option(None, help="with --cluster-member: every member's address, in order."),
) -> None:
    """Start this machine's role (all-in-one: OVN central, this host's chassis, ovnet services;
    central; compute) and return when all are healthy.

    Example: ovnet up --role central --cluster-size 3, then on a compute host:
    ovnet up --role compute --central 10.0.0.1 --encap-ip 10.0.0.21
    """
    try:
        remotes = central_remotes(central, nb_port or 6641, sb_port or 6642, api_port or 9696) if central else {}
        explicit = {k: v for k, v in (("nb_remotes", nb), ("sb_remotes", sb), ("api_urls", api)) if v}
        settings = load_settings(state_dir, nb_port=nb_port, sb_port=sb_port, api_port=api_port,
                                 datapath=datapath.value if datapath else None,
                                 role=role, encap_ip=encap_ip, sql_store=sql_url, chassis_name=chassis_name,
                                 listen_host=listen_host, cluster_size=cluster_size, cluster_member=cluster_member,
                                 cluster_remotes=cluster_remotes, **{**remotes, **explicit})
    except ValueError as exc:
        err.print(f"[red]error:[/] {exc}")
        raise typer.Exit(2) from None
    try:  # before the bar, so that the refusal is all it prints; allinone.up checks again under its lock
        allinone.refuse_rewiring(settings)
    except RuntimeFailure as exc:
        err.print(f"[red]error:[/] {exc}")
        raise typer.Exit(1) from None
    started = time.monotonic()
    # A bar over the all-in-one's services (it grows when added hosts' services come too); off a
    # terminal rich draws no bar and only the per-service lines remain, which scripts can read.
    columns = (SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console) as bar:
        task = bar.add_task("starting ovnet", total=len(allinone.services(settings)))

        def progress(name: str, state: str) -> None:
            if state == "starting":
                bar.update(task, description=f"starting {name}")
            elif state in ("started", "running"):
                done = bar.tasks[0].completed + 1
                bar.update(task, completed=done, total=max(done, bar.tasks[0].total or 0),
                           description=f"{name} {state}")
                bar.console.print(f"  {name} {state}")

        try:
            rows = allinone.up(settings, progress)
        except RuntimeFailure as exc:
            bar.stop()
            err.print(f"[red]error:[/] {exc}")
            raise typer.Exit(1) from None
        bar.update(task, description="ovnet is up")
    console.print(_table(rows))
    recorded = settings.state_dir / "datapath"  # none on a central: it runs no chassis
    datapath_used = recorded.read_text().strip() if recorded.exists() else "none (central)"
    kind = {"netdev": " (userspace, no openvswitch kernel module)", "system": " (kernel)"}.get(datapath_used, "")
    console.print(f"ovnet is up ({settings.role}) in {time.monotonic() - started:.1f} s; datapath: "
                  f"{datapath_used}{kind}; state: {settings.state_dir}")


def status(state_dir: Path = StateDir, json_: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """One row per service: pid, alive, healthy, endpoint, log. Exit 1 if any is unhealthy.

    Example: ovnet status --json | jq -r '.[] | select(.healthy | not) | .name'
    """
    settings = load_settings(state_dir)
    rows = allinone.status(settings)
    if json_:
        print(status_json(rows))
    else:
        console.print(f"role: {settings.role}" + (f" (NB/SB: {settings.cluster_size}-member Raft clusters)"
                                                   if settings.cluster_size > 1 else ""))
        console.print(f"remotes: NB {settings.nb_connection}  SB {settings.sb_connection}  "
                      f"API {','.join(settings.api_endpoints)}")
        console.print(_table(rows))
    if not all(r.healthy for r in rows):
        raise typer.Exit(1)


def down(state_dir: Path = StateDir, purge: bool = typer.Option(False, help="Also delete the state dir.")) -> None:
    """Stop exactly the processes ovnet started (by pidfile) and remove what it created.

    Example: ovnet down --purge
    """
    settings = load_settings(state_dir)
    try:
        for what in cleanup.run_down_hooks(settings):  # e.g. the test bed's dockerd and VMs
            console.print(f"  {what} stopped")
        for name in unplug_all(settings) if purge else []:  # no agent would ever find them again
            console.print(f"  {name} unplugged")
        allinone.down(settings, purge=purge, progress=lambda name, state: console.print(f"  {name} {state}"))
    except RuntimeFailure as exc:
        err.print(f"[red]error:[/] {exc}")
        raise typer.Exit(1) from None
    console.print("ovnet is down" + (f"; {settings.state_dir} deleted" if purge else ""))
