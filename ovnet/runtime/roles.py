"""Which services one machine runs for its role (``Settings.role``), in start order.

- ``all-in-one``: OVN central, this host's chassis, ovnet-server and ovnet-agent;
- ``central``: NB and SB ovsdb-servers (standalone, or Raft cluster members), ovn-northd,
  ovnet-server;
- ``compute``: the local ovsdb-server, ovs-vswitchd, ovn-controller and ovnet-agent, reaching the
  central through ``sb_remotes`` and ``api_urls``.

``ovnet up`` and the systemd units (``ovnet install-units``) both start exactly these.
"""

from __future__ import annotations

import dataclasses

from ovnet.config import ROLES, Settings
from ovnet.runtime import cluster
from ovnet.runtime.central import central_services
from ovnet.runtime.chassis import chassis_services, local_chassis
from ovnet.runtime.daemon import Service
from ovnet.runtime.services import ovnet_services

SERVER, AGENT = "ovnet-server", "ovnet-agent"


def with_cluster_remotes(settings: Settings) -> Settings:
    """``settings`` with ``nb_remotes``/``sb_remotes`` pointing at the Raft cluster this machine
    runs members of, when clustered and not given: every member's unix socket on one machine,
    every member's ``tcp:ADDR:PORT`` with ``cluster_member``. Unchanged otherwise."""
    if not cluster.clustered(settings) or settings.role == "compute":
        return settings
    if settings.cluster_member:
        remotes = {db: tuple(f"tcp:{a}:{getattr(settings, f'{db}_port')}" for a in settings.cluster_remotes)
                   for db in ("nb", "sb")}
    else:
        remotes = {db: cluster.member_sockets(settings, db) for db in ("nb", "sb")}
    return dataclasses.replace(settings, nb_remotes=settings.nb_remotes or remotes["nb"],
                               sb_remotes=settings.sb_remotes or remotes["sb"])


def central_role_services(settings: Settings) -> list[Service]:
    """The OVN central services: clustered members (cluster.cluster_services) or standalone."""
    return cluster.cluster_services(settings) if cluster.clustered(settings) else central_services(settings)


def role_services(settings: Settings, role: str | None = None) -> list[Service]:
    """The services of ``role`` (default ``settings.role``) in start order. Raises ValueError for an
    unknown role."""
    role = role or settings.role
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
    own = ovnet_services(settings)
    if role == "central":
        return central_role_services(settings) + [s for s in own if s.name == SERVER]
    chassis = chassis_services(local_chassis(settings))
    if role == "compute":
        return chassis + [s for s in own if s.name == AGENT]
    return central_role_services(settings) + chassis + own
