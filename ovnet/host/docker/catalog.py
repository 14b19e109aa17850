"""Finding Docker's objects in ovnet's API again, from Docker's IDs alone.

Everything is found through the API (the host holds no truth): an ovnet network by its
``docker.net:<NetworkID prefix>`` tag, a pool's subnet by its ``docker.pool:<digest>`` tag, an
endpoint's port by ``device_id`` = the EndpointID. What is kept here is a cache of those lookups
(a GET costs ~12 ms and ``docker run`` makes a dozen): network ids, pool subnets until their
network is deleted, and an endpoint's port, network and subnets from CreateEndpoint until
DeleteEndpoint. Every entry is found again through the API when missing, so a restarted plugin
works from the first call.
"""

from __future__ import annotations

import ipaddress
import threading
import time
from dataclasses import dataclass

from ovnet.apiclient import ApiClient, ApiError
from ovnet.host.docker import pools
from ovnet.host.docker.protocol import OPT_PROJECT, PluginError

ENDED_TTL = 600.0


def api_message(exc: ApiError) -> str:
    """The API's sentence for a Docker user (NeutronError message, without the status line)."""
    return exc.message.rstrip(".")


@dataclass(frozen=True)
class Endpoint:
    """A Docker endpoint's port and the ovnet network it is on (API JSON)."""

    port: dict
    network: dict


class Catalog:
    """Lookups of Docker networks, pools and endpoints in the API; thread-safe."""

    def __init__(self, api: ApiClient):
        self.api = api
        self._networks: dict[str, str] = {}  # Docker NetworkID -> ovnet network id
        self._pools: dict[str, dict] = {}  # PoolID -> subnet
        self._endpoints: dict[str, Endpoint] = {}  # EndpointID -> what Join and DeleteEndpoint need
        self._ended: dict[str, float] = {}  # port id -> when DeleteEndpoint ended its endpoint
        self._lock = threading.Lock()

    # -- networks ------------------------------------------------------------------------------
    def network(self, docker_network_id: str) -> dict | None:
        """The ovnet network a Docker network uses, or None."""
        with self._lock:
            cached = self._networks.get(docker_network_id)
        if cached:
            try:
                return self.api.show_network(cached)
            except ApiError as exc:
                if exc.status != 404:
                    raise
                self.forget(docker_network_id)
        found = self.api.list_networks(tags=pools.network_tag(docker_network_id))
        if not found:
            return None
        with self._lock:
            self._networks[docker_network_id] = found[0]["id"]
        return found[0]

    def require_network(self, docker_network_id: str) -> dict:
        """The ovnet network of a Docker network; PluginError naming what to do when unknown."""
        net = self.network(docker_network_id)
        if net is None:
            raise PluginError(f"Docker network {docker_network_id[:12]} has no ovnet network (was it deleted "
                              "in ovnet?); remove it with `docker network rm` and create it again")
        return net

    def forget(self, docker_network_id: str) -> None:
        """Drop the cached lookups of a Docker network and of every pool (its subnets go with it)."""
        with self._lock:
            self._networks.pop(docker_network_id, None)
            self._pools.clear()

    def resolve(self, ref: str, project: str | None) -> dict:
        """The ovnet network named ``ref`` (an id or a unique name, within ``project`` when given).
        PluginError when there is none or the name is ambiguous."""
        try:
            net = self.api.show_network(ref)
        except ApiError as exc:
            if exc.status not in (400, 404):
                raise
            filters = {"name": ref, **({"project_id": project} if project else {})}
            found = self.api.list_networks(**filters)
            if len(found) != 1:
                raise PluginError(f"{'no' if not found else 'more than one'} ovnet network is called {ref!r}"
                                  + (f" in project {project}" if project else "") + "; name it by id") from None
            net = found[0]
        if project and net["project_id"] != project:
            raise PluginError(f"ovnet network {ref} belongs to project {net['project_id']}, not {project}")
        return net

    # -- projects ------------------------------------------------------------------------------
    def project_id(self, value: str | None, where: str) -> str | None:
        """The id of the project an ``ovnet.project`` option names by name or id (None when the
        option is absent or empty); ``where`` is how the user gave it ("-o", "--ipam-opt").
        PluginError naming the option when no project has that name or id."""
        if not value:
            return None
        try:
            found = self.api.find_project(value)
        except ApiError as exc:
            raise PluginError(f"cannot look up {where} {OPT_PROJECT}={value}: {api_message(exc)}") from None
        if found is None:
            raise PluginError(f"{where} {OPT_PROJECT}={value}: ovnet has no project of that name or id "
                              "(`ovnet project create NAME` makes one)")
        return found["id"]

    # -- subnets -------------------------------------------------------------------------------
    def subnet_for_pool(self, spec: pools.PoolSpec, pool_id: str) -> dict | None:
        """The ovnet subnet behind a PoolID, or None while its Docker network is not created yet."""
        with self._lock:
            cached = self._pools.get(pool_id)
        if cached is not None:
            return cached
        if spec.network:
            try:
                net = self.resolve(spec.network, spec.project)
            except PluginError:
                return None
            matches = [s for s in self.api.list_subnets(network_id=net["id"])
                       if ipaddress.ip_network(s["cidr"]) == spec.cidr]
        else:
            matches = self.api.list_subnets(tags=pools.pool_tag(pool_id))
        if not matches:
            return None
        with self._lock:
            self._pools[pool_id] = matches[0]
        return matches[0]

    def subnets(self, network_id: str) -> list[dict]:
        return self.api.list_subnets(network_id=network_id)

    # -- ports ---------------------------------------------------------------------------------
    def endpoint_port(self, endpoint_id: str) -> dict | None:
        """The port of a Docker endpoint (device_id = EndpointID), or None."""
        found = self.api.list_ports(device_id=endpoint_id)
        return found[0] if found else None

    def remember_endpoint(self, endpoint_id: str, port: dict, network: dict) -> None:
        with self._lock:
            self._endpoints[endpoint_id] = Endpoint(port, network)

    def endpoint(self, endpoint_id: str) -> Endpoint | None:
        """The port and network of an endpoint: cached since CreateEndpoint, else from the API."""
        with self._lock:
            cached = self._endpoints.get(endpoint_id)
        if cached is not None:
            return cached
        port = self.endpoint_port(endpoint_id)
        if port is None:
            return None
        found = Endpoint(port, self.api.show_network(port["network_id"]))
        with self._lock:
            self._endpoints[endpoint_id] = found
        return found

    def forget_endpoint(self, endpoint_id: str) -> None:
        with self._lock:
            self._endpoints.pop(endpoint_id, None)

    def end_endpoint(self, port_id: str) -> None:
        """Note that DeleteEndpoint ended the endpoint of IPAM port ``port_id``: the ReleaseAddress
        that follows may remove its address (ownership.may_release). Notes older than
        ``ENDED_TTL`` seconds are dropped (that release never came; the GC has the port)."""
        now = time.monotonic()
        with self._lock:
            self._ended = {k: t for k, t in self._ended.items() if now - t < ENDED_TTL}
            self._ended[port_id] = now

    def take_ended(self, port_id: str) -> bool:
        """Whether DeleteEndpoint ended ``port_id``'s endpoint (and forget the note)."""
        with self._lock:
            return self._ended.pop(port_id, None) is not None

    def ports_with_address(self, network_id: str, address: str) -> list[dict]:
        return self.api.list_ports(network_id=network_id, fixed_ips=f"ip_address={address}")

    def ports_with_mac(self, network_id: str, mac: str) -> list[dict]:
        return self.api.list_ports(network_id=network_id, mac_address=mac)
