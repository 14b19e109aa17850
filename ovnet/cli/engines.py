"""The containers of this machine's Docker and Podman, as their own CLIs list them, for commands
that take a container's name or id where ovnet knows only a port's ``device_id``.

What an ovnet port's ``device_id`` holds differs by engine: a Podman container attached through
CNI has its container id there (the pod's infra container's, for a container of a pod, since the
pod's containers share its network namespace), a Docker container the id of its libnetwork
endpoint on that network (ovnet.host.docker.network), which only ``docker inspect`` relates to
the container. Each CLI is run as the user would run it (DOCKER_HOST, CONTAINER_HOST and the
engines' config files apply); an engine that is not installed or not running lists nothing.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass

CLI_TIMEOUT_S = 10.0  # a listing of a few thousand containers answers well within this


@dataclass(frozen=True)
class Container:
    """A container of ``engine`` ("docker" or "podman"): its full ``id`` and its ``names``;
    ``network_id`` is the id its ovnet ports carry as device_id when it is not ``id`` (a pod
    member's infra container), else empty."""

    engine: str
    id: str
    names: tuple[str, ...]
    network_id: str = ""


def _run(argv: list[str]) -> str | None:
    """The CLI's stdout, or None when it is not installed, fails (engine not running) or hangs."""
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=CLI_TIMEOUT_S)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout if done.returncode == 0 else None


def parse_podman(listing: str) -> list[Container]:
    """The containers of ``podman ps -a --format json`` (a JSON list of {"Id", "Names", "Pod",
    "IsInfra"}); a pod member's ``network_id`` is its pod's infra container's id."""
    rows = json.loads(listing or "[]") or []
    infra = {row.get("Pod"): row["Id"] for row in rows if row.get("IsInfra") and row.get("Pod")}
    return [Container("podman", row["Id"], tuple(row.get("Names") or ()),
                      infra.get(row.get("Pod"), "") if row.get("Pod") and not row.get("IsInfra") else "")
            for row in rows]


def parse_docker(listing: str) -> list[Container]:
    """The containers of ``docker ps -a --no-trunc --format '{{.ID}}\\t{{.Names}}'`` (one a line,
    names comma-separated)."""
    out = []
    for line in listing.splitlines():
        ident, _, names = line.partition("\t")
        if ident.strip():
            out.append(Container("docker", ident.strip(), tuple(n for n in names.strip().split(",") if n)))
    return out


def containers() -> list[Container]:
    """Every container Podman and Docker list here (none of an engine that is absent or down)."""
    podman = _run(["podman", "ps", "-a", "--format", "json"])
    docker = _run(["docker", "ps", "-a", "--no-trunc", "--format", "{{.ID}}\t{{.Names}}"])
    try:
        found = parse_podman(podman) if podman else []
    except (ValueError, KeyError, TypeError):
        found = []  # not the listing this podman version was expected to print: nothing known
    return found + (parse_docker(docker) if docker else [])


def device_ids(container: Container) -> list[str]:
    """The ``device_id`` values of the ovnet ports that ``container`` may have: a Podman
    container's id (or its pod's infra container's), a Docker container's endpoint ids (asked of
    ``docker inspect``; none when it no longer answers)."""
    if container.engine == "podman":
        return [container.network_id or container.id]
    shown = _run(["docker", "inspect", "--format", "{{json .NetworkSettings.Networks}}", container.id])
    try:
        networks = json.loads(shown) if shown else {}
    except ValueError:
        return []
    return [n["EndpointID"] for n in (networks or {}).values() if n.get("EndpointID")]
