"""``ovnet host add|remove|list``: more hypervisors on this machine, each a chassis in a namespace."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx
import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ovnet.apiclient import ApiClient, ApiError
from ovnet.config import load_settings
from ovnet.runtime import cleanup, hosts
from ovnet.runtime.process import RuntimeFailure

app = typer.Typer(help="Extra hypervisors (OVN chassis in network namespaces) joined to the all-in-one.",
                  no_args_is_help=True)
console = Console(width=None if sys.stdout.isatty() else 200)
err = Console(stderr=True, width=None if sys.stderr.isatty() else 200)

StateDir = typer.Option(None, "--state-dir", envvar="OVNET_STATE_DIR", help="State directory (default /var/lib/ovnet).")


def _table(rows: list[hosts.HostStatus]) -> Table:
    table = Table("host (chassis)", "encap ip", "netns", "services")
    for row in rows:
        cells = [f"{name} {pid}" if reason is None else f"{name} [red]{escape(reason)}[/]"
                 for name, pid, reason in row.services]
        table.add_row(row.name, row.encap_ip, row.netns, ", ".join(cells))
    return table


@app.command("add")
def add(name: str = typer.Argument(..., help="Host and chassis name, e.g. hv2."), state_dir: Path = StateDir) -> None:
    """Start hypervisor NAME (create it unless it exists); return when it is joined to OVN.

    Example: ovnet host add hv2
    """
    settings = load_settings(state_dir)
    try:  # a malformed name is a usage error (exit 2), told before anything is started
        hosts.check_name(settings, name)
    except ValueError as exc:
        err.print(f"[red]error:[/] {escape(str(exc))}")
        raise typer.Exit(2) from None
    try:
        row = hosts.add(settings, name)
    except RuntimeFailure as exc:
        err.print(f"[red]error:[/] {escape(str(exc))}")
        raise typer.Exit(1) from None
    console.print(_table([row]))


@app.command("remove")
def remove(name: str = typer.Argument(..., help="Host name."), state_dir: Path = StateDir) -> None:
    """Remove the VMs running on hypervisor NAME, stop it, delete its state, namespace and links,
    and unbind the ports bound to it.

    Example: ovnet host remove hv2
    """
    settings = load_settings(state_dir)
    try:
        # Its workloads first (ovnet.runtime.cleanup hooks: the test bed's QEMU VMs), while its
        # agent still answers their unbinds: they would outlive its bridge otherwise.
        stopped = cleanup.run_host_remove_hooks(settings, name) if hosts.host_settings(settings, name) else []
        for what in stopped:
            console.print(f"  {what} removed")
        found = hosts.remove(settings, name)
    except (RuntimeFailure, subprocess.TimeoutExpired) as exc:  # a hook's hung command: one line too
        err.print(f"[red]error:[/] {escape(str(exc))}")
        raise typer.Exit(1) from None
    # Also after a removal that could not reach the API: running this again clears what is left.
    try:
        with ApiClient.from_settings(settings) as api:
            unbound = api.unbind_host(name)
    except (ApiError, httpx.HTTPError, OSError) as exc:
        if not found:
            err.print(f"[red]error:[/] no host {name!r} (and its ports could not be checked: {escape(str(exc))})")
        else:
            err.print(f"[red]error:[/] host {name} removed, but its ports could not be unbound ({escape(str(exc))}): "
                      f"with the API up (ovnet up), run `ovnet host remove {name}` again")
        raise typer.Exit(1) from None
    if not found and not unbound:
        err.print(f"[red]error:[/] no host {name!r}")
        raise typer.Exit(1)
    for port_id in unbound:
        console.print(f"  port {port_id} unbound")
    console.print(f"host {name} removed" if found else f"host {name} was already gone")


@app.command("list")
def list_(state_dir: Path = StateDir) -> None:
    """One row per host: encap address, namespace, services with pids. Exit 1 if any is unhealthy.

    Example: ovnet host list
    """
    rows = hosts.list_hosts(load_settings(state_dir))
    console.print(_table(rows))
    if not all(r.healthy for r in rows):
        raise typer.Exit(1)
