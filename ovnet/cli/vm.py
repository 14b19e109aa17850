"""``ovnet vm build|run|rm|list`` (test VMs as workloads) and ``ovnet port libvirt-xml``."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ovnet.apiclient import ApiClient
from ovnet.cli.failing import failing
from ovnet.cli.resolve import resolve_or_exit
from ovnet.config import load_settings
from ovnet.credentials import checked_option
from ovnet.host.agentclient import local_admin_token
from ovnet.host.libvirt import interface_xml
from ovnet.testbed import vm as vms
from ovnet.testbed.initscript import LINE_LEASE
from ovnet.testbed.qemu import VmError, parse_lease, wait_console
from ovnet.testbed.vmimage import VmImageError, build_image

app = typer.Typer(help="Virtual machines (QEMU microvm, the test image) bound to ports.", no_args_is_help=True)

StateDir = typer.Option(None, "--state-dir", envvar="OVNET_STATE_DIR", help="State directory (default /var/lib/ovnet).")
Host = typer.Option(None, "--host", help="Hypervisor (chassis) to use; default this one.")
Token = typer.Option(None, "--token", envvar="OS_TOKEN", callback=checked_option, help="API token of the caller (default: the local admin).")


def _fail(exc: Exception) -> None:
    typer.echo(f"error: {exc}", err=True)
    raise typer.Exit(1)


def _api(settings, token: str | None) -> ApiClient:
    # No token given: the local admin's, when this user may read it (else the API answers 401).
    return ApiClient(settings.api_endpoints, token or local_admin_token(settings.agent_socket) or "")


@app.command("build")
def build(state_dir: Path = StateDir) -> None:
    """Build the VM image (Debian kernel + busybox initramfs) unless it is cached; print its files.

    Example: ovnet vm build
    """
    settings = load_settings(state_dir)
    try:
        image = build_image(settings.cache_dir)
    except VmImageError as exc:
        _fail(exc)
    typer.echo(f"{image.version}\nkernel  {image.kernel}\nbzImage {image.kernel_compressed}\ninitrd  {image.initrd}")


@app.command("run")
def run(
    name: str = typer.Argument(..., help="VM name (its hostname and what its echo service answers)."),
    port: list[str] = typer.Option(..., "--port", help="Port name or id to bind a NIC to; repeat for more NICs "
                                   "(eth0 first)."),
    host: str = Host,
    tap: str = typer.Option(None, "--tap", help="Tap device name (default tap + 11 characters of the port id)."),
    image: Path = typer.Option(None, "--image", help="An image directory or image.json (default: the one built last)."),
    wait: float = typer.Option(0.0, "--wait", help="Seconds to wait for the VM's DHCP lease (0: do not wait)."),
    token: str = Token, state_dir: Path = StateDir,
) -> None:
    """Bind each PORT as a tap on HOST and boot VM NAME on them (returns once QEMU runs).

    Example: ovnet vm run vm1 --port p1 --port p2 --wait 60
    """
    try:  # malformed arguments are a usage error (exit 2), told before the API is asked
        vms.check_run_args(name, port, tap)
    except VmError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    settings = load_settings(state_dir)
    with failing(settings, "api"), _api(settings, token) as api:
        port = [resolve_or_exit(api, "ports", p) for p in port]
    try:
        with failing(settings, "agent"):  # the API is only told which VM the ports are, on a best effort
            record = vms.run(settings, name, port, host=host, tap=tap, image=image, token=token)
    except (VmError, VmImageError) as exc:
        _fail(exc)
    nics = ", ".join(f"eth{i} tap {n.tap} MAC {n.mac}" for i, n in enumerate(record.nics))
    typer.echo(f"VM {name} runs (pid {record.pid()}) on host {record.host}, {nics}; console: {record.console}")
    if wait > 0:
        lines = [wait_console(Path(record.console), LINE_LEASE, wait, suffix=f" dev=eth{i}")
                 for i in range(len(record.nics))]
        if None in lines:
            typer.echo(f"error: no DHCP lease within {wait:g} s; see {record.console}", err=True)
            raise typer.Exit(1)
        for line in lines:
            typer.echo("lease: " + " ".join(f"{k}={v}" for k, v in parse_lease(line).items()))


@app.command("rm")
def rm(name: str = typer.Argument(..., help="VM name."), token: str = Token, state_dir: Path = StateDir) -> None:
    """Stop VM NAME by its pid and unbind its port.

    Example: ovnet vm rm vm1
    """
    settings = load_settings(state_dir)
    try:
        with failing(settings, "agent"):
            record = vms.remove(settings, name, token=token)
    except VmError as exc:
        _fail(exc)
    typer.echo(f"VM {name} stopped; port {', '.join(n.port_id for n in record.nics)} unbound on host {record.host}")


@app.command("list")
def list_(state_dir: Path = StateDir) -> None:
    """One row per VM under a header, as the other list commands: name, state (QEMU's pid or
    stopped), host, ports, taps and eth0's DHCP lease.

    Example: ovnet vm list
    """
    table = Table("name", "state", "host", "ports", "taps", "lease")
    for record in vms.list_records(load_settings(state_dir)):
        line = wait_console(Path(record.console), LINE_LEASE, 0, suffix=" dev=eth0")
        lease = parse_lease(line).get("ip", "-") if line else "-"
        state = f"pid {record.pid()}" if record.pid() else "stopped"
        ports, taps = (", ".join(getattr(n, f) for n in record.nics) for f in ("port_id", "tap"))
        table.add_row(escape(record.name), state, escape(record.host), ports, taps, lease)
    Console(width=200).print(table)


def libvirt_xml(
    port: str = typer.Argument(..., help="Port name or id."), host: str = Host, token: str = Token,
    state_dir: Path = StateDir,
) -> None:
    """Print the libvirt <interface> element that plugs a domain's NIC into PORT on HOST.

    Example: ovnet port libvirt-xml p1 > nic.xml && virsh attach-device dom1 nic.xml --live
    """
    settings = load_settings(state_dir)
    try:
        hypervisor = vms.host_of(settings, host)
    except VmError as exc:
        _fail(exc)
    with failing(settings, "api"), _api(settings, token) as api:
        body = api.show_port(resolve_or_exit(api, "ports", port))
        network = api.show_network(body["network_id"])
    recorded = hypervisor.state_dir / "datapath"
    datapath = recorded.read_text().strip() if recorded.exists() else hypervisor.datapath
    typer.echo(interface_xml(body, network, bridge=hypervisor.bridge, userspace_datapath=datapath == "netdev"))
