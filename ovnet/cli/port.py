"""``ovnet port bind|unbind``: plug a port into a netns (veth), a tap or an OVS internal port on a
host, through that host's agent."""

from __future__ import annotations

from pathlib import Path

import typer

from ovnet.apiclient import ApiClient
from ovnet.cli.failing import failing
from ovnet.cli.resolve import resolve_or_exit
from ovnet.config import Settings, load_settings
from ovnet.credentials import checked_option
from ovnet.host.agentclient import AgentClient, local_admin_token
from ovnet.host.binding import HOST_ID
from ovnet.host.ovs import LocalOvs
from ovnet.host.vif import delete_owned_devices
from ovnet.runtime.hosts import host_names, host_settings

app = typer.Typer(help="Bind ports to workloads on a host.", no_args_is_help=True)

StateDir = typer.Option(None, "--state-dir", envvar="OVNET_STATE_DIR", help="State directory (default /var/lib/ovnet).")
Host = typer.Option(None, "--host", help="Hypervisor (chassis) whose agent does it; default this one.")
Token = typer.Option(None, "--token", envvar="OS_TOKEN", callback=checked_option,
                     help="API token of the caller (default: the local admin token, when readable).")


def _agent(state_dir: Path | None, host: str | None, token: str | None) -> AgentClient:
    settings: Settings = load_settings(state_dir)
    if host and host != settings.chassis_name:
        other = host_settings(settings, host)
        if other is None:
            typer.echo(f"error: no host {host} (see `ovnet host list`)", err=True)
            raise typer.Exit(2)
        settings = other
    sock = settings.agent_socket
    if not sock.exists():
        typer.echo(f"error: no agent socket at {sock}; is ovnet up?", err=True)
        raise typer.Exit(1)
    token = token or local_admin_token(sock)
    if not token:
        typer.echo("error: no API token: give --token or OS_TOKEN (the admin token is root's)", err=True)
        raise typer.Exit(2)
    return AgentClient(sock, token)


@app.command("bind")
def bind(
    port: str = typer.Argument(..., help="Port name or id."),
    netns: str = typer.Option(None, "--netns", help="Plug a veth into this network namespace (name or path)."),
    ifname: str = typer.Option("eth0", "--ifname", help="Interface name inside the namespace."),
    tap: str = typer.Option(None, "--tap", help="Plug a persistent tap device of this name (for a VM)."),
    owner: str = typer.Option(None, "--owner", help="User allowed to open the tap (name or uid)."),
    internal: str = typer.Option(None, "--internal", help="Plug an OVS internal port of this name (host access)."),
    host: str = Host, token: str = Token, state_dir: Path = StateDir,
) -> None:
    """Bind PORT here: exactly one of --netns, --tap, --internal. Waits for ovn-installed.

    Example: ip netns add w1 && ovnet port bind p1 --netns w1
    """
    chosen = [(k, v) for k, v in (("veth", netns), ("tap", tap), ("internal", internal)) if v]
    if len(chosen) != 1:
        typer.echo("error: give exactly one of --netns, --tap, --internal", err=True)
        raise typer.Exit(2)
    kind, target = chosen[0]
    settings = load_settings(state_dir)
    port = _port_id(settings, port, token)
    with failing(settings, "agent"), _agent(state_dir, host, token) as agent:
        done = agent.bind(port, kind, target, ifname=ifname, owner=owner)
    typer.echo(f"port {done['port_id']} bound as {done['kind']} on {done['device']}; "
               f"ovn-installed after {done['ready_s'] * 1000:.0f} ms")


@app.command("unbind")
def unbind(port: str = typer.Argument(..., help="Port name or id."),
           host: str = typer.Option(None, "--host", help="Hypervisor whose agent does it; default the port's "
                                    "binding:host_id."),
           token: str = Token, state_dir: Path = StateDir) -> None:
    """Unplug PORT on its host and clear its binding:host_id. A host that no longer exists (`ovnet
    host remove`) has nothing plugged left: only the binding is cleared, with the admin token.

    Example: ovnet port unbind p1
    """
    settings = load_settings(state_dir)
    port = _port_id(settings, port, token)
    with failing(settings, "api"):
        host = host or _bound_host(settings, port, token)
        gone = bool(host) and host != settings.chassis_name and host_settings(settings, host) is None
        if gone:
            _clear_binding(settings, port, host, token)
    if not gone:
        with failing(settings, "agent"), _agent(state_dir, host, token) as agent:
            agent.unbind(port)
    typer.echo(f"port {port} unbound")


def _api(settings: Settings, token: str | None) -> ApiClient:
    token = token or local_admin_token(settings.agent_socket)
    if not token:
        typer.echo("error: no API token: give --token or OS_TOKEN (the admin token is root's)", err=True)
        raise typer.Exit(2)
    return ApiClient(settings.api_endpoints, token)


def _port_id(settings: Settings, port: str, token: str | None) -> str:
    with failing(settings, "api"), _api(settings, token) as api:
        return resolve_or_exit(api, "ports", port)


def _bound_host(settings: Settings, port: str, token: str | None) -> str:
    # Seen with the caller's token, so another project's port stays PortNotFound; binding:host_id
    # itself is shown to admins only (Neutron policy), so it is read with the admin token.
    with _api(settings, token) as api:
        api.show_port(port)
    with _api(settings, None) as admin:
        return admin.show_port(port).get(HOST_ID) or ""


def _clear_binding(settings: Settings, port: str, host: str, token: str | None) -> None:
    with _api(settings, token) as api:
        api.show_port(port)
    # Reading and clearing a binding is the admin's (Neutron policy); the caller has shown it sees the port.
    with _api(settings, None) as admin:
        if (admin.show_port(port).get(HOST_ID) or "") != host:
            typer.echo(f"error: no host {host} (see `ovnet host list`)", err=True)
            raise typer.Exit(2)
        admin.update_port(port, **{HOST_ID: ""})


def unplug_all(settings: Settings) -> list[str]:
    """Delete every device ovnet plugged on the all-in-one and on each recorded host (veth pairs
    with their workload ends, taps); returns their names. For ``ovnet down --purge``: plain
    ``down`` keeps them so workloads survive a restart, and after a purge no agent could find them."""
    hypervisors = [settings, *(host_settings(settings, name) for name in host_names(settings))]
    return [name for h in hypervisors if h is not None for name in delete_owned_devices(h.netns, _bridge_ports(h))]


def _bridge_ports(settings: Settings) -> set[str]:
    """The port names on the integration bridge of the hypervisor of ``settings``; none when its
    OVS is not running (then nothing of it can be told from another installation's devices)."""
    if not settings.ovs_db_sock.exists():
        return set()
    try:
        ovs = LocalOvs(settings.ovs_db_sock, settings.bridge, timeout=5)
    except Exception:  # a stale socket: ovsdbapp raises its own and python-ovs' errors here
        return set()
    try:
        return ovs.port_names()
    finally:
        ovs.close()
