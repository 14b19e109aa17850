"""``ovnet demo [--keep | --clean]``: the seed picture on real packets, as a matrix of expected vs seen."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ovnet.apiclient import ApiError
from ovnet.config import Settings, load_settings
from ovnet.model.errors import ModelError
from ovnet.model.store import Store
from ovnet.model.tenancy import get_or_create_project, issue_token
from ovnet.runtime import allinone
from ovnet.runtime.process import RuntimeFailure
from ovnet.testbed import demo as testbed_demo
from ovnet.testbed import reach, seed
from ovnet.testbed.guest import GuestError
from ovnet.testbed.qemu import VmError
from ovnet.testbed.vmimage import VmImageError

KIND_MARKS = {"vm": " (VM)", "docker": " (docker)"}  # a namespace workload goes unmarked
console = Console(width=None if sys.stdout.isatty() else 200)
err = Console(stderr=True, width=None if sys.stderr.isatty() else 200)


def member_tokens(settings: Settings) -> dict[str, str]:
    """A fresh member token for each seed project (created if missing), as `ovnet project create` does."""
    store = Store(settings.sql_url)
    try:
        store.migrate()
        return {name: store.run(lambda s, n=name: issue_token(s, get_or_create_project(s, n).id, "member"))
                for name in seed.NETWORKS}
    finally:
        store.dispose()


def _cell(cell: reach.Cell) -> str:
    expected, seen = ("yes" if cell.expected else "no"), ("yes" if cell.seen else "no")
    # An address that answered with another workload's name: the twin in the caller's own project.
    twin = f" ({cell.echo})" if cell.echo and not cell.seen else ""
    text = f"{expected}/{seen}{twin}"
    return f"[green]{text}[/]" if cell.ok else f"[bold red]{text} ✗[/]"


def matrix(cells: list[reach.Cell], chassis: list[str]) -> Table:
    """Rows: source NIC; columns: destination NIC; cells "expected/seen" (a name in brackets: who
    answered at that address instead); "-" for a workload's own addresses. ``chassis`` names the
    hypervisors by seed number, so pairs on different ones (across Geneve) can be told apart."""
    nics = seed.nics()
    where = {w.name: chassis[w.hypervisor] for w in seed.WORKLOADS}
    kind = {w.name: KIND_MARKS.get(w.kind, "") for w in seed.WORKLOADS}
    by_pair = {(c.src, c.dst): c for c in cells}
    table = Table(title="reachability: expected/seen (green = as expected)", show_lines=False)
    table.add_column("from \\ to")
    for dst in nics:
        table.add_column(f"{dst.workload}{kind[dst.workload]} @{where[dst.workload]}\n{dst.address}\n"
                         f"{dst.project}/{dst.network}",
                         justify="center")
    for src in nics:
        row = [_cell(by_pair[(src, dst)]) if (src, dst) in by_pair else "-" for dst in nics]
        table.add_row(f"{src.label}{kind[src.workload]} ({src.ifname})\n{src.project}/{src.network} "
                      f"@{where[src.workload]}", *row)
    return table


def demo(
    keep: bool = typer.Option(False, "--keep", help="Leave the demo running for exploration."),
    clean: bool = typer.Option(False, "--clean", help="Only remove what a kept demo made."),
    host: str = typer.Option("hv2", "--host", help="Name of the second hypervisor (added unless it exists)."),
    state_dir: Path = typer.Option(None, "--state-dir", envvar="OVNET_STATE_DIR",
                                   help="State directory (default /var/lib/ovnet)."),
) -> None:
    """Build the seed picture through the API (project tokens), bind its workloads on two hypervisors,
    ping every ordered pair, print expected vs seen. Exit 0 only when every cell matches."""
    if keep and clean:
        err.print("[red]error:[/] --keep and --clean exclude each other")
        raise typer.Exit(2)
    settings = load_settings(state_dir)
    try:
        if clean:
            removed = testbed_demo.clean(settings)
            console.print(f"demo removed ({len(removed)} things)" if removed else "no demo to remove")
            return
        unhealthy = [r.name for r in allinone.status(settings) if not r.healthy]
        if unhealthy:
            err.print(f"[red]error:[/] ovnet is not running ({', '.join(unhealthy)}): run `ovnet up` first")
            raise typer.Exit(1)
        started = time.monotonic()
        cells, timings = testbed_demo.run(settings, member_tokens(settings), host, keep=keep,
                                          progress=lambda msg: console.print(f"  {msg}"))
    except (RuntimeFailure, ApiError, ModelError, ValueError, VmError, VmImageError, GuestError) as exc:
        err.print(f"[red]error:[/] {escape(str(exc))}")
        raise typer.Exit(1) from None
    console.print(matrix(cells, [settings.chassis_name, host]))
    bad = [c for c in cells if not c.ok]
    phases = ", ".join(f"{name} {seconds:.2f} s" for name, seconds in timings.items())
    crossing = sum(c.seen and seed.crosses(c.src, c.dst) for c in cells)
    console.print(f"{len(cells) - len(bad)}/{len(cells)} cells as expected "
                  f"({sum(c.seen for c in cells)} reachable, {crossing} of them across Geneve; "
                  f"{sum(not c.seen for c in cells)} isolated); "
                  f"total {time.monotonic() - started:.1f} s ({phases})")
    if keep:
        names = ", ".join(testbed_demo.workload_netns(settings, w.name) for w in seed.WORKLOADS if w.kind == "netns")
        vms = ", ".join(w.name for w in seed.WORKLOADS if w.kind == "vm")
        containers = ", ".join(w.name for w in seed.WORKLOADS if w.kind == "docker")
        engine = testbed_demo.docker_engine(settings)
        console.print(f"kept: namespaces {names}; VMs {vms} (`ovnet vm list`); Docker container {containers} "
                      f"(`docker -H {engine.host} ps`); remove with `ovnet demo --clean`")
    if bad:
        for c in bad:
            err.print(f"[red]mismatch:[/] {c.src.label} -> {c.dst.label}: expected "
                      f"{'reachable' if c.expected else 'isolated'}, ping {'answered' if c.ping else 'silent'}, "
                      f"echo {c.echo or 'none'}")
        raise typer.Exit(1)
