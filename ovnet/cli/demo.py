"""``ovnet demo [--keep | --clean]``: the seed picture on real packets, as a matrix of expected vs seen."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape

from ovnet.apiclient import ApiClient, ApiError
from ovnet.cli import demotrace, matrix
from ovnet.config import Settings, load_settings
from ovnet.runtime import allinone
from ovnet.runtime.process import RuntimeFailure
from ovnet.testbed import demo as testbed_demo
from ovnet.testbed import seed
from ovnet.testbed.guest import GuestError
from ovnet.testbed.qemu import VmError
from ovnet.testbed.reach import Cell
from ovnet.testbed.vmimage import VmImageError

console = Console(width=None if sys.stdout.isatty() else 200)
# soft_wrap: an error stays one line (however long the ports it names), as README promises.
err = Console(stderr=True, soft_wrap=True)
SUMMARY_WIDTH = 100  # the summary, timing and blocked-cell lines fit a 100-column terminal


def member_tokens(settings: Settings, created: list[str] | None = None) -> dict[str, str]:
    """A fresh member token for each seed project (created if missing, its id then appended to
    ``created``), through the API as `ovnet project create` does. Raises ApiError."""
    tokens = {}
    with ApiClient.from_settings(settings) as api:
        for name in seed.NETWORKS:
            found = api.list_projects(name)
            if not found:
                found = [api.create_project(name)]
                if created is not None:
                    created.append(found[0]["id"])
            tokens[name] = api.issue_token(found[0]["id"])
    return tokens


def fresh_tokens(settings: Settings, note: testbed_demo.Progress) -> tuple[dict[str, str], list[str]]:
    """Remove a previous (kept) demo, then issue the seed projects' tokens: ``(tokens, ids of the
    projects made now)``. In this order because the clean-up deletes the projects that demo made,
    which revokes every token of theirs. Raises ApiError, RuntimeFailure."""
    if testbed_demo.Record.load(settings) is not None:
        note("removing the previous demo")
        testbed_demo.clean(settings, note)
    created: list[str] = []
    return member_tokens(settings, created), created


def placement(chassis: list[str]) -> dict[str, tuple[str, str]]:
    """{workload: (hypervisor name, kind)} of the seed and the outside host (on none, ""); ``chassis``
    names the hypervisors by seed number."""
    return {**{w.name: (chassis[w.hypervisor], w.kind) for w in seed.WORKLOADS}, seed.OUTSIDE: ("", "outside")}


def _judge(settings: Settings, tokens: dict[str, str]) -> testbed_demo.Judge:
    def judge(cells: list[Cell], record: testbed_demo.Record) -> list[Cell]:
        return demotrace.judge(settings, tokens, record.world(settings), record.nic_ports, record.public_network,
                               cells)
    return judge


def demo(
    keep: bool = typer.Option(False, "--keep", help="Leave the demo running for exploration."),
    clean: bool = typer.Option(False, "--clean", help="Only remove what a kept demo made."),
    host: str = typer.Option("hv2", "--host", help="Name of the second hypervisor (added unless it exists)."),
    state_dir: Path = typer.Option(None, "--state-dir", envvar="OVNET_STATE_DIR",
                                   help="State directory (default /var/lib/ovnet)."),
    json_: bool = typer.Option(False, "--json", help="Print the cells as JSON (progress goes to stderr)."),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Also print every cell: ping, echo answer."),
) -> None:
    """Build the seed picture through the API (project tokens): two projects' networks, routers to
    the public network, floating IPs, security groups; bind its workloads on two hypervisors, probe
    every ordered pair and the outside host, trace each cell with ovnet trace, print expected vs
    seen as a matrix. Exit 0 only when every cell matches and trace agrees with every probe.

    Example: ovnet demo --keep   (then look around; remove it with: ovnet demo --clean)
    """
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

        def note(msg: str) -> None:
            (err if json_ else console).print(f"  {msg}")

        tokens, created = fresh_tokens(settings, note)
        cells, timings = testbed_demo.run(settings, tokens, host, keep=keep, progress=note,
                                          judge=_judge(settings, tokens), projects=created)
    # A helper command that hangs (docker, podman) is one error line too, never a traceback.
    except (RuntimeFailure, RuntimeError, ApiError, ValueError, VmError, VmImageError, GuestError,
            subprocess.TimeoutExpired) as exc:
        err.print(f"[red]error:[/] {escape(str(exc))}")
        raise typer.Exit(1) from None
    where = placement([settings.chassis_name, host])
    bad = [c for c in cells if not c.ok or not c.agrees]
    phases = ", ".join(f"{name} {seconds:.1f} s" for name, seconds in timings.items())
    crossing = sum(c.seen and seed.crosses(c.src, c.dst) for c in cells)
    if json_:
        print(json.dumps({**matrix.as_json(cells, where), "timings_s": timings}, indent=2))
        raise typer.Exit(1 if bad else 0)
    grid, width = matrix.grid(cells, where)
    console.print(grid, crop=False, soft_wrap=True)
    console.print(matrix.legend(where, cells))
    for line in matrix.details(cells) if verbose else []:
        console.print(line, soft_wrap=True)
    for c in cells if not verbose else []:
        if c.reason.startswith("blocked") and c.traced is not None:
            console.print(escape("\n".join(textwrap.wrap(
                f"{c.src.workload} -> {c.dst.workload} {c.dst.ifname} {c.dst.address}: {c.reason}; ovnet trace: "
                f"{c.traced.reason}", SUMMARY_WIDTH, subsequent_indent="  "))))
    console.print(matrix.summary(cells, crossing))
    console.print("\n".join(textwrap.wrap(f"total {time.monotonic() - started:.1f} s: {phases}", SUMMARY_WIDTH)))
    if width > console.width:
        console.print(f"(the matrix is {width} columns wide; --verbose lists each cell, --json for machines)")
    if keep:
        names = ", ".join(testbed_demo.workload_netns(settings, w.name) for w in seed.WORKLOADS if w.kind == "netns")
        vms = ", ".join(w.name for w in seed.WORKLOADS if w.kind == "vm")
        containers = ", ".join(w.name for w in seed.WORKLOADS if w.kind == "docker")
        pods = ", ".join(w.name for w in seed.WORKLOADS if w.kind == "podman")
        engine = testbed_demo.docker_engine(settings)
        console.print(f"kept: namespaces {names}; VMs {vms} (`ovnet vm list`); Docker container {containers} "
                      f"(`docker -H {engine.host} ps`); Podman container {pods}; remove with `ovnet demo --clean`")
    if bad:
        for c in bad:
            if not c.ok:
                err.print(f"[red]mismatch:[/] {c.src.label} -> {c.dst.label}: expected "
                          f"{'reachable' if c.expected else 'isolated'} ({c.reason}), ping "
                          f"{'answered' if c.ping else 'silent'}, echo {c.echo or 'none'}"
                          + (f", want source {c.want_source}" if c.want_source else ""))
            if not c.agrees:
                err.print(f"[red]trace disagrees:[/] {c.src.label} -> {c.dst.label}: probe "
                          f"{'reached' if c.seen else 'did not reach'} it (source {c.source or '-'}), ovnet trace: "
                          f"{c.traced.verdict or 'not traced'}, {escape(c.traced.reason)} (source {c.traced.source or '-'})")
        raise typer.Exit(1)
