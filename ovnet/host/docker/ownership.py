"""Who owns an IPAM port, decided from the port alone (pure: API JSON in, a verdict out).

libnetwork's RequestAddress and ReleaseAddress carry no endpoint id: only a PoolID, an address
and, with RequiresMACAddress, the MAC dockerd chose. The MAC names no endpoint (a user may give
two containers the same one), so it may only find the port; whether a request may have that port
follows from the port's claim:

* *unclaimed* (``device_id`` empty): answered to a request whose CreateEndpoint has not come yet;
  only that request's other address family may join it, and its ReleaseAddress is a rollback.
* *claimed* by endpoint E (CreateEndpoint set ``device_id`` = E): E is live until its
  DeleteEndpoint. A request naming exactly the address E holds is dockerd re-reserving E's
  address (a restart or live-restore restores its endpoints so), answered again; anything else
  is another endpoint and refused, naming the MAC. A ReleaseAddress of a live E's address is the
  rollback of such a refused or re-reserving request and must leave the port alone.

Issue 15: a second container with a copied MAC was handed the first one's address as a "replay",
and its rolled-back ReleaseAddress then deleted the first container's port.
"""

from __future__ import annotations

from ovnet.host.docker import pools
from ovnet.host.docker.protocol import PluginError


def fixed_ip_in(port: dict, subnet_id: str) -> str | None:
    """The port's address in ``subnet_id`` (a string), or None."""
    return next((f["ip_address"] for f in port["fixed_ips"] if f["subnet_id"] == subnet_id), None)


def same_mac_answer(port: dict, subnet: dict, wanted: str | None, mac: str) -> str | None:
    """What an endpoint RequestAddress with ``mac`` gets when ``port`` (on the same network) has
    that MAC: the address to answer again (a string), or None when the request may add its
    address to the port (the second address family of one pending request). ``wanted`` is the
    requested address or None. PluginError naming the MAC when the port is another endpoint's."""
    if pools.IPAM_TAG not in port.get("tags", []):
        raise PluginError(f"MAC address {mac} is already used by port {port['id']} on this network")
    held, owner = fixed_ip_in(port, subnet["id"]), port.get("device_id") or ""
    if owner:
        if held is not None and wanted == held:
            return held  # dockerd re-reserving a live endpoint's own address
        raise PluginError(f"MAC address {mac} is already used by endpoint {owner[:12]} on this network"
                          + (f" (with {held})" if held else ""))
    if held is not None:
        raise PluginError(f"MAC address {mac} is already used on this network by a pending endpoint "
                          f"(its address {held} in {subnet['cidr']})")
    return None


def is_reservation_of_live_endpoint(ports: list[dict]) -> bool:
    """True when a request with ``Options: null`` for an address held by ``ports`` (the ports of
    the network with that address) is dockerd re-reserving an endpoint's address at its restart
    rather than an ``--aux-address``: the address is held by an IPAM port an endpoint claimed.
    (libnetwork sends both kinds without options; an aux address is only asked for before its
    network exists.)"""
    return any(pools.IPAM_TAG in p.get("tags", []) and p.get("device_id") for p in ports)


def may_release(port: dict, endpoint_ended: bool) -> bool:
    """Whether ReleaseAddress may remove ``port``'s address: an unclaimed port (the rollback of
    its own request), or one whose endpoint this plugin saw deleted (``endpoint_ended``). A port
    of an endpoint still live is never touched; one whose DeleteEndpoint this process did not see
    (the plugin restarted between the two calls) is left to the GC, which removes ports of
    endpoints dockerd no longer knows."""
    return not port.get("device_id") or endpoint_ended
