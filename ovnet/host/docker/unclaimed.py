"""The sweep of IPAM ports no endpoint ever claimed (part of the Docker plugin's GC).

RequestAddress makes an unclaimed port (``device_id`` empty, ownership.py) and CreateEndpoint
claims it right after. A dockerd that dies between the two never sends that CreateEndpoint, nor a
ReleaseAddress, and does not replay a request of an endpoint it never made, so the port would hold
its address for ever. This host's agent deletes such ports its own IPAM made (tag
``docker.ipam.host:<chassis>``) once it has seen them unclaimed for ``grace_s`` seconds, as the
CNI sweep does for ports of vanished namespaces. A slow but live endpoint create is safe twice
over: the grace period outlasts any RequestAddress-to-CreateEndpoint gap, and the delete carries
the revision the sweep saw (If-Match), so a port claimed meanwhile is refused the delete (412)
and kept.

A port made before the host tag existed names no chassis, and nothing else tells whose dockerd
asked for it, so every agent's sweep takes such a port as its own: the grace period and If-Match
keep a live claim safe as above, and the agents that lose the race to delete it see a 404.
"""

from __future__ import annotations

import logging
import time

from ovnet.apiclient import ApiClient, ApiError
from ovnet.host.docker import pools

LOG = logging.getLogger(__name__)


class UnclaimedSweep:
    """Deletes the unclaimed IPAM ports of chassis ``chassis`` (and those naming no chassis) older
    than ``grace_s`` seconds (as this process has seen them: the clock starts when a round first
    sees a port unclaimed)."""

    def __init__(self, api: ApiClient, chassis: str, grace_s: float):
        self.api, self.chassis, self.grace_s = api, chassis, grace_s
        self._since: dict[str, float] = {}  # port id -> when a round first saw it unclaimed

    def sweep(self, now: float | None = None) -> list[str]:
        """One round at ``now`` (time.monotonic() seconds, default the current one): returns the
        ids of the ports it deleted. ApiError/httpx errors of the list pass through; a refused
        delete leaves the port to the next round."""
        now = time.monotonic() if now is None else now
        # Every unclaimed IPAM port of every host in one indexed read: they live only between a
        # RequestAddress and its CreateEndpoint, so the list stays short however many hosts run.
        unclaimed = {p["id"]: p for p in self.api.list_ports(tags=pools.IPAM_TAG, device_id="")
                     if pools.IPAM_TAG in p["tags"] and not p["device_id"] and self._ours(p["tags"])}
        self._since = {i: self._since.get(i, now) for i in unclaimed}
        removed = []
        for port_id, since in sorted(self._since.items()):
            if now - since >= self.grace_s and self._delete(unclaimed[port_id]):
                removed.append(port_id)
                del self._since[port_id]
        if removed:
            LOG.info("removed IPAM ports no Docker endpoint claimed within %g s: %s", self.grace_s, removed)
        return removed

    def _ours(self, tags: list[str]) -> bool:
        """True for a port this chassis' IPAM made, or one made before ports named their chassis."""
        hosts = [t for t in tags if t.startswith(pools.IPAM_HOST_TAG)]
        return hosts == [pools.ipam_host_tag(self.chassis)] or not hosts

    def _delete(self, port: dict) -> bool:
        try:
            self.api.delete_port(port["id"], if_revision=port["revision_number"])
        except ApiError as exc:
            if exc.status == 404:
                return False  # released meanwhile
            if exc.status != 412:
                LOG.warning("could not remove unclaimed IPAM port %s: %s", port["id"], exc)
            return False  # 412: changed since the list (claimed by a CreateEndpoint): kept
        return True
