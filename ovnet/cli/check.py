"""``ovnet check [--json]``: a read-only consistency check across every layer; exit 0 only when
nothing is wrong.

Layers compared (issue 15), each by its own module:
- ``services``: every service of this state dir and each added host's (their agents included) is
  running and healthy (the rows of ``ovnet status``, ovnet.runtime.allinone.status); a layer that
  is down must not pass silently;
- ``model-nb``: the model against OVN NB, what ``ovnet sync --check`` shows (ovnet.ovn.syncer.drift);
- ``nb-sb``: every up logical switch port is claimed in SB by the chassis its port is bound to
  (ovnet.ovn.audit);
- ``host``: each host's OVS and devices against the model, read through the host's agent
  (``GET /inventory`` on its socket, ovnet.host.audit), never by SSH. The hosts are this machine's
  all-in-one and those ``ovnet host add`` made; a port bound to a host no agent answered for is a
  finding, since nothing could vouch for it;
- ``ipam``: leaked and doubly held addresses (ovnet.model.audit).

Like ``ovnet sync``, it reads the model store and NB/SB directly, so it works while ovnet-server is
down. It writes nothing anywhere.

A consistency check must not report a change that was in flight while it read: the layers are read
one after the other (the model, then NB and SB, then each host), and the API, the syncer and each
host's agent finish a change in that order too (an agent within one ``agent_sync_interval``). So
when a first reading finds anything, every layer is read again after a settle and only what both
readings found is reported: a port deleted between the model read and its host's inventory, or a
veth its agent removes in its next round, is gone by then; what is really wrong stays.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
import typer
from rich.console import Console

from ovnet.apiclient import ApiError
from ovnet.config import Settings, load_settings
from ovnet.host.agentclient import AgentClient
from ovnet.host.audit import host_findings
from ovnet.model.audit import finding, ipam_findings, port_bindings
from ovnet.model.store import Store
from ovnet.ovn.audit import nb_vs_sb
from ovnet.ovn.nb import NbUnavailable
from ovnet.ovn.sb import SbUnavailable, port_bindings as sb_port_bindings
from ovnet.ovn.syncer import CONNECT_TIMEOUT, Syncer
from ovnet.runtime import allinone, hosts

AGENT_TIMEOUT_S = 30.0
SETTLE_MAX_S = 30.0


def _agents(settings: Settings) -> list[Path]:
    """The agent sockets of this installation's hosts: the all-in-one's, then each added host's."""
    sockets = [settings.agent_socket]
    for name in hosts.host_names(settings):
        host = hosts.host_settings(settings, name)
        if host is not None:
            sockets.append(host.agent_socket)
    return sockets


def _host_layer(settings: Settings, bound_to: dict[str, str]) -> list[dict]:
    token = settings.admin_token_file.read_text().strip()
    out, reached = [], set()
    for sock in _agents(settings):
        try:
            with AgentClient(sock, token, timeout_s=AGENT_TIMEOUT_S) as agent:
                inventory = agent.inventory()
        except (ApiError, httpx.HTTPError, OSError) as exc:
            out.append(finding("host", [str(sock)], f"agent at {sock} did not answer: {type(exc).__name__}: {exc}"))
            continue
        reached.add(inventory["chassis"])
        out += host_findings(inventory, bound_to)
    for port_id, host in sorted(bound_to.items()):
        if host and host not in reached:
            out.append(finding("host", [port_id, host], f"port {port_id} is bound to {host}, whose agent was not reached"))
    return out


def _services_layer(settings: Settings) -> list[dict]:
    """One finding per service of this state dir (and per service of each added host, its agent
    included) that is dead or unhealthy, from the rows of ``ovnet status``."""
    return [finding("services", [row.name], f"{row.name} is {'unhealthy' if row.alive else 'not running'}"
                    + (f": {row.reason}" if row.reason else ""))
            for row in allinone.status(settings) if not row.healthy]


def _ovn_layers(settings: Settings, store: Store, bound_to: dict[str, str],
                unreadable: list[NbUnavailable | SbUnavailable]) -> list[dict]:
    """The model-nb and nb-sb findings; an OVN database that cannot be read adds a line to
    ``unreadable`` instead (the layers that need it are not compared)."""
    try:
        syncer = Syncer(store, settings)
    except NbUnavailable as exc:
        unreadable.append(exc)
        return []
    try:
        nb = syncer.read_nb()
        drift = syncer.drift(nb)
        up = nb.up
    except NbUnavailable as exc:
        unreadable.append(exc)
        return []
    finally:
        syncer.stop()
    # Both drift line shapes name the object second: "<table> <id>: ..." and "port <id>: ...".
    out = [finding("model-nb", [line.split()[1].rstrip(":")], line) for line in drift]
    try:
        out += nb_vs_sb(bound_to, up, sb_port_bindings(settings.sb_connection, CONNECT_TIMEOUT))
    except SbUnavailable as exc:
        unreadable.append(exc)
    return out


def default_settle_s(settings: Settings) -> float:
    """Seconds between the two readings: one agent round and a second, at most SETTLE_MAX_S."""
    return min(settings.agent_sync_interval + 1.0, SETTLE_MAX_S)


def collect_layers(settings: Settings, settle_s: float = 0.0
                   ) -> tuple[list[dict], list[NbUnavailable | SbUnavailable]]:
    """Every finding, layer by layer (services, model-nb, nb-sb, host, ipam): ([{"layer", "objects",
    "problem"}], unreadable), where ``unreadable`` holds the error of each OVN database that could
    not be read: the layers needing it were not compared, the others were. With ``settle_s`` > 0 a
    first reading that finds anything (and could read every layer) is followed, ``settle_s``
    seconds later, by a second one, and only the findings of both are returned (see the module
    docstring); the second reading's ``unreadable`` is returned."""
    found, unreadable = _read_layers(settings)
    if settle_s <= 0 or not found or unreadable:
        return found, unreadable
    time.sleep(settle_s)
    again, unreadable = _read_layers(settings)
    first = {(f["layer"], f["problem"]) for f in found}
    return [f for f in again if (f["layer"], f["problem"]) in first], unreadable


def _read_layers(settings: Settings) -> tuple[list[dict], list[NbUnavailable | SbUnavailable]]:
    unreadable: list[NbUnavailable | SbUnavailable] = []
    store = Store(settings.sql_url)
    try:
        with store.session(readonly=True) as session:
            bound_to = port_bindings(session)
            ipam = ipam_findings(session)
        ovn = _ovn_layers(settings, store, bound_to, unreadable)
    finally:
        store.dispose()
    return _services_layer(settings) + ovn + _host_layer(settings, bound_to) + ipam, unreadable


def collect(settings: Settings, settle_s: float = 0.0) -> list[dict]:
    """The findings of ``collect_layers``; raises the first NbUnavailable or SbUnavailable when
    OVN could not be read (then not everything was compared)."""
    found, unreadable = collect_layers(settings, settle_s)
    if unreadable:
        raise unreadable[0]
    return found


def check(
    state_dir: Path = typer.Option(None, "--state-dir", envvar="OVNET_STATE_DIR",
                                   help="State directory (default /var/lib/ovnet)."),
    json_: bool = typer.Option(False, "--json", help="Print the findings as a JSON list."),
    settle: float = typer.Option(None, "--settle", metavar="SECONDS",
                                 help="When anything is found, read every layer again after SECONDS (0 to "
                                      f"{SETTLE_MAX_S:g}) and report only what both readings found (default: one "
                                      f"agent round + 1 s, at most {SETTLE_MAX_S:g}; 0: one reading)."),
) -> None:
    """Check model, OVN NB, OVN SB, every host's OVS (through its agent) and the IPAM against each
    other, and that every service of this state dir runs healthy; print one line per finding; exit 0
    only when there is none (1 findings, 2 OVN unreadable: the other layers' findings are printed too).
    A finding is reported only when a second reading after ``--settle`` seconds finds it again.

    Example: ovnet check || ovnet sync
    """
    out, err = Console(soft_wrap=True), Console(stderr=True, soft_wrap=True)
    # Checked here rather than by typer's min/max, whose refusal is a multi-line box.
    if settle is not None and not 0.0 <= settle <= SETTLE_MAX_S:
        err.print(f"[red]error:[/] --settle must be between 0 and {SETTLE_MAX_S:g} seconds, not {settle:g}",
                  markup=True, highlight=False)
        raise typer.Exit(2)
    settings = load_settings(state_dir)
    found, unreadable = collect_layers(settings, default_settle_s(settings) if settle is None else settle)
    if json_:
        print(json.dumps(found, indent=2))
    else:
        for item in found:
            out.print(f"{item['layer']}: {item['problem']}", markup=False, highlight=False)
        if not unreadable:
            out.print(f"{len(found)} finding(s)" if found else "all layers agree: no findings")
    for line in unreadable:  # what could not be compared never reads as agreement
        err.print(f"[red]error:[/] {line}", markup=True, highlight=False)
    if unreadable:
        raise typer.Exit(2)
    if found:
        raise typer.Exit(1)
