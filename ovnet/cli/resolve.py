"""Name or id, as the openstack CLI takes them: ``resolve(api, "ports", "p10")`` is the id of the
one port the caller sees whose id or name is "p10". An id wins over a name (Neutron ids are
UUIDs, names are free text); no match is NoMatch, several ports of that name are Ambiguous,
which lists the candidates so the user can pick an id.

``find_port`` also takes a workload, as a user names it: a VM's name, a Docker or Podman
container's name, full id or unique id prefix (the rule of ``docker``/``podman`` themselves).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from ovnet.apiclient import ApiClient, ApiError, is_uuid
from ovnet.cli import engines

SINGULAR = {"ports": "port", "networks": "network", "subnets": "subnet"}


class NoMatch(Exception):
    """Nothing the caller sees has this id or name."""


class Ambiguous(Exception):
    """Several resources have this name; ``candidates`` are their one-line descriptions."""

    def __init__(self, message: str, candidates: list[str]):
        super().__init__(message)
        self.candidates = candidates


def _describe(item: dict) -> str:
    where = f"network {item['network_id']}" if "network_id" in item else ""
    ips = ", ".join(f["ip_address"] for f in item.get("fixed_ips", []))
    return " ".join(x for x in (item["id"], f"({ips})" if ips else "", where, f"project {item.get('project_id')}") if x)


def resolve(api: ApiClient, plural: str, value: str) -> str:
    """The id of the ``plural`` resource ("ports", "networks", "subnets") with id or name ``value``,
    as the caller of ``api`` sees it. Raises NoMatch, Ambiguous; ApiError for other API errors."""
    singular = SINGULAR[plural]
    if is_uuid(value):
        try:
            return api.show(singular, plural, value)["id"]
        except ApiError as exc:
            if exc.status != 404:
                raise
    named = api.list(plural, name=value)
    if len(named) == 1:
        return named[0]["id"]
    if not named:
        # Neutron's own words for it, so a script sees the same error by name as by id.
        raise NoMatch(f"{singular.capitalize()}NotFound: {singular.capitalize()} {value} could not be found "
                      "(no id or name matches among what this token sees).")
    raise Ambiguous(f"{len(named)} {plural} are named {value!r}; give one of their ids:",
                    [_describe(item) for item in named])


def resolve_or_exit(api: ApiClient, plural: str, value: str) -> str:
    """``resolve`` for a command: NoMatch becomes Neutron's NotFound message on stderr and exit
    status 1 (as any API error); Ambiguous a message with the candidates, one a line, and exit 2."""
    import typer

    try:
        return resolve(api, plural, value)
    except NoMatch as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    except Ambiguous as exc:
        typer.echo(f"error: {exc}", err=True)
        for line in exc.candidates:
            typer.echo(f"  {line}", err=True)
    raise typer.Exit(2)


# An id, as ids are written (hex digits and a UUID's dashes): only such a ref is matched as an id
# prefix, so a name such as "web" never selects a container whose id happens to start so.
ID_PREFIX = re.compile(r"[0-9a-f][0-9a-f-]*")


@dataclass(frozen=True)
class Candidate:
    """Something a user may name: ``label`` (for messages), its full ``id`` and its ``names``."""

    label: str
    id: str
    names: tuple[str, ...] = ()


def match(ref: str, candidates: Iterable[Candidate]) -> list[Candidate]:
    """The candidates ``ref`` names, by the rule docker and podman apply to containers: those
    whose full id is ``ref``; else those with ``ref`` among their names; else those whose id
    starts with ``ref`` (when ``ref`` is written as an id is). Several results mean ambiguity."""
    pool = list(candidates)
    for tier in (lambda c: c.id == ref, lambda c: ref in c.names,
                 lambda c: ID_PREFIX.fullmatch(ref) is not None and c.id.startswith(ref)):
        found = [c for c in pool if tier(c)]
        if found:
            return found
    return []


def _port_line(port: dict) -> str:
    return f"{port.get('name') or '(no name)'}: port {_describe(port)}"


def _one(what: str, ports: Sequence[dict]) -> dict:
    if len(ports) == 1:
        return ports[0]
    raise Ambiguous(f"{len(ports)} ports {what}; give a port id:", [_port_line(p) for p in ports])


def find_port(api: ApiClient, ref: str, list_containers: Callable[[], list[engines.Container]] | None = None) -> dict:
    """The port (API dict) that ``ref`` names, among the ports the caller of ``api`` sees: a port's
    id or name; a workload's ``device_id`` (a VM's name, a CNI container's id); else a Docker or
    Podman container of this machine (``list_containers``: ovnet.cli.engines.containers) by name,
    full id or unique id prefix, or a unique prefix of a port's id or of a workload's device_id (a container
    of an engine the CLI cannot reach, such as the demo's own). Raises NoMatch; Ambiguous (a
    workload with several NICs, several ports of that name, a prefix of several ids) listing
    the ports or candidates; ApiError for other API errors."""
    if is_uuid(ref):
        try:
            return api.show("port", "ports", ref)
        except ApiError as exc:
            if exc.status != 404:
                raise
    for key, what in (("name", "named"), ("device_id", "of workload")):
        found = api.list_ports(**{key: ref})
        if found:
            return _one(f"{what} {ref!r}", found)
    return _find_workload(api, ref, list_containers or engines.containers)


def _find_workload(api: ApiClient, ref: str, list_containers: Callable[[], list[engines.Container]]) -> dict:
    containers = {c.id: c for c in list_containers()}
    ports = api.list_ports()
    # Workloads only (Neutron's "compute:" owners: Docker, CNI, VMs), so that a prefix never names a
    # router or DHCP port by its router's or network's id.
    by_device: dict[str, list[dict]] = {}
    for port in ports:
        if port.get("device_id") and (port.get("device_owner") or "").startswith("compute:"):
            by_device.setdefault(port["device_id"], []).append(port)
    pool = [Candidate(f"{c.engine} container {(c.names or (c.id[:12],))[0]}", c.id, c.names)
            for c in containers.values()]
    pool += [Candidate(f"port {p['id']}", p["id"]) for p in ports]
    pool += [Candidate(f"workload {d}", d) for d in by_device]
    found = match(ref, pool)
    # A Podman container and its CNI ports' device_id are one workload: group the matches by the
    # ports they lead to, so only different port sets are ambiguous.
    sets: dict[frozenset[str], tuple[Candidate, list[dict]]] = {}
    for candidate in found:
        if candidate.id in containers:
            led = [p for d in engines.device_ids(containers[candidate.id]) for p in by_device.get(d, [])]
        else:
            led = by_device.get(candidate.id) or [p for p in ports if p["id"] == candidate.id]
        sets.setdefault(frozenset(p["id"] for p in led), (candidate, led))
    if len(sets) > 1:
        raise Ambiguous(f"{len(found)} ids or names match {ref!r}; give more of an id, or a port id:",
                        [f"{c.label} ({', '.join(p['id'] for p in led) or 'no ovnet port'})"
                         for c, led in sets.values()])
    if not sets:
        raise NoMatch(f"no port or workload {ref!r} (a port's id or name, a VM's name, a Docker or Podman "
                      "container's name or id or id prefix, among what this token sees)")
    candidate, led = next(iter(sets.values()))
    if not led:
        raise NoMatch(f"{candidate.label} has no ovnet port that this token sees")
    return _one(f"of {candidate.label}", led)
