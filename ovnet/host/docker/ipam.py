"""The IpamDriver: Docker pools and addresses on ovnet subnets and ports.

* RequestPool only names a pool (pools.PoolSpec): the subnet is made by CreateNetwork, which is
  the first call that knows the Docker network. Pools handed out and not yet claimed by a
  CreateNetwork are remembered for a few minutes (``PoolLedger``), so an auto pool is not handed
  out twice while dockerd still holds it (libnetwork#1465) and CreateNetwork learns the
  ``--ip-range`` and ``--ipam-opt``s, which it is not sent.
* The gateway and aux addresses are not ports: RequestAddress for them validates and answers
  (CreateNetwork then makes them the subnet's gateway_ip and keeps them out of its allocation
  pools); once the subnet exists a replayed gateway request answers the subnet's gateway.
* An endpoint address is a port tagged ``docker.ipam``: the IPv4 and IPv6 requests of one endpoint
  carry the same MAC (RequiresMACAddress) and land on one port. The MAC only finds a port; whether
  the request may have it is the port's claim (ownership.py): a live endpoint's port answers only
  dockerd re-reserving that endpoint's own address, and ReleaseAddress removes an address only
  from an unclaimed port or one whose endpoint DeleteEndpoint ended; the last one removes the port.
"""

from __future__ import annotations

import ipaddress
import threading
import time
from typing import Callable

from ovnet.apiclient import ApiError
from ovnet.host.docker import ownership, pools
from ovnet.host.docker import protocol as p
from ovnet.host.docker.catalog import Catalog, api_message

GATEWAY_DATA = "com.docker.network.gateway"
AUX_TAG = "docker.aux:"


class PoolLedger:
    """PoolIDs answered by RequestPool and not yet released or claimed, for ``ttl`` seconds."""

    def __init__(self, ttl: float = 300.0):
        self.ttl = ttl
        self._pending: dict[str, tuple[pools.PoolSpec, float]] = {}
        self._lock = threading.Lock()

    def add(self, pool_id: str, spec: pools.PoolSpec) -> None:
        with self._lock:
            now = time.monotonic()
            self._pending = {k: v for k, v in self._pending.items() if now - v[1] < self.ttl}
            self._pending[pool_id] = (spec, now)

    def drop(self, pool_id: str) -> None:
        with self._lock:
            self._pending.pop(pool_id, None)

    def cidrs(self) -> list[pools.Network]:
        with self._lock:
            return [spec.cidr for spec, _t in self._pending.values()]

    def claim(self, cidr: pools.Network) -> tuple[str, pools.PoolSpec] | None:
        """The most recent pending pool of ``cidr`` (removed from the ledger), or None."""
        with self._lock:
            mine = sorted(((t, k, s) for k, (s, t) in self._pending.items() if s.cidr == cidr), reverse=True)
            if not mine:
                return None
            _t, pool_id, spec = mine[0]
            del self._pending[pool_id]
            return pool_id, spec


class IpamDriver:
    """libnetwork IpamDriver calls over the ovnet API for the dockerd of chassis ``chassis`` (whose
    name tags the ports it makes, ovnet.host.docker.unclaimed). ``unplug(port_id)`` removes a port's
    local device if a failed DeleteEndpoint left one (dockerd ignores that failure)."""

    def __init__(self, catalog: Catalog, ledger: PoolLedger, unplug: Callable[[str], None], chassis: str):
        self.catalog, self.api, self.ledger, self.unplug = catalog, catalog.api, ledger, unplug
        self.chassis = chassis

    # -- pools ---------------------------------------------------------------------------------
    def request_pool(self, req: p.RequestPoolRequest) -> dict:
        project = self.catalog.project_id(req.options.get(p.OPT_PROJECT), "--ipam-opt")
        spec = pools.PoolSpec(req.pool or pools.AUTO_V4, req.sub_pool, project, req.options.get(p.OPT_NETWORK) or None)
        data: dict = {}
        if spec.network:
            net = self.catalog.resolve(spec.network, spec.project)
            version = 6 if req.v6 else 4
            subnets = [s for s in self.catalog.subnets(net["id"]) if s["ip_version"] == version]
            chosen = [s for s in subnets if req.pool is None or ipaddress.ip_network(s["cidr"]) == req.pool]
            if not chosen:
                raise p.PluginError(f"ovnet network {spec.network} has no IPv{version} subnet"
                                    + (f" {req.pool}" if req.pool else ""))
            spec = pools.PoolSpec(ipaddress.ip_network(chosen[0]["cidr"]), req.sub_pool, spec.project, spec.network)
            if chosen[0]["gateway_ip"]:
                data[GATEWAY_DATA] = spec.with_prefix(ipaddress.ip_address(chosen[0]["gateway_ip"]))
        elif req.pool is None:
            taken = [ipaddress.ip_network(s["cidr"]) for s in self.api.list_subnets()] + self.ledger.cidrs()
            spec = pools.PoolSpec(pools.choose_auto_pool(req.v6, taken), None, spec.project)
        pool_id = spec.pool_id()
        self.ledger.add(pool_id, spec)
        return {"PoolID": pool_id, "Pool": str(spec.cidr), "Data": data}

    def release_pool(self, req: p.PoolRequest) -> dict:
        # The subnet goes with its network (DeleteNetwork); a pool is only a name until then.
        self.ledger.drop(req.pool_id)
        return {}

    # -- addresses -----------------------------------------------------------------------------
    def request_address(self, req: p.RequestAddressRequest) -> dict:
        spec = pools.PoolSpec.parse(req.pool_id)
        if req.address is not None:
            spec.check_inside(req.address)
        subnet = self.catalog.subnet_for_pool(spec, req.pool_id)
        if req.kind == "gateway":
            return {"Address": spec.with_prefix(self._gateway(spec, subnet, req.address)), "Data": {}}
        if req.kind == "aux":
            if req.address is None:
                raise p.PluginError("an --aux-address needs an address")
            holders = self.catalog.ports_with_address(subnet["network_id"], str(req.address)) if subnet else []
            if holders and not ownership.is_reservation_of_live_endpoint(holders):
                raise p.PluginError(f"aux address {req.address} is already in use")
            return {"Address": spec.with_prefix(req.address), "Data": {}}
        if subnet is None:
            # dockerd asks for endpoint addresses only on networks it has, made by CreateNetwork
            raise p.PluginError(f"pool {spec.cidr} has no ovnet subnet any more: the ovnet network behind this "
                                "Docker network was deleted in ovnet; remove the Docker network and create it again")
        return {"Address": spec.with_prefix(self._endpoint_address(subnet, req)), "Data": {}}

    def _gateway(self, spec: pools.PoolSpec, subnet: dict | None, wanted: pools.Address | None) -> pools.Address:
        current = subnet.get("gateway_ip") if subnet else None
        if current and wanted is not None and str(wanted) != current:
            raise p.PluginError(f"the gateway of {spec.cidr} in ovnet is {current}, not {wanted}")
        if current:
            return ipaddress.ip_address(current)
        return wanted if wanted is not None else pools.default_gateway(spec)

    def _endpoint_address(self, subnet: dict, req: p.RequestAddressRequest) -> pools.Address:
        network_id, wanted = subnet["network_id"], req.address
        if wanted is not None:
            if str(wanted) == subnet.get("gateway_ip"):
                raise p.PluginError(f"{wanted} is the gateway of {subnet['cidr']}")
            if AUX_TAG + str(wanted) in subnet.get("tags", []):
                raise p.PluginError(f"{wanted} is reserved as an aux address of {subnet['cidr']}")
        fixed = {"subnet_id": subnet["id"], **({"ip_address": str(wanted)} if wanted is not None else {})}
        try:
            same_mac = self.catalog.ports_with_mac(network_id, req.mac) if req.mac else []
            if same_mac:
                port = same_mac[0]
                again = ownership.same_mac_answer(port, subnet, None if wanted is None else str(wanted), req.mac)
                if again is not None:
                    return ipaddress.ip_address(again)
                port = self.api.update_port(port["id"], fixed_ips=[*port["fixed_ips"], fixed])
            else:
                attrs = {"network_id": network_id, "project_id": subnet["project_id"], "fixed_ips": [fixed],
                         "name": "docker-ipam", "tags": [pools.IPAM_TAG, pools.ipam_host_tag(self.chassis)]}
                if req.mac:
                    attrs["mac_address"] = req.mac
                port = self.api.create_port(**attrs)
        except ApiError as exc:
            raise p.PluginError(f"cannot allocate {wanted or 'an address'} in {subnet['cidr']}: "
                                f"{api_message(exc)}") from None
        return ipaddress.ip_address(ownership.fixed_ip_in(port, subnet["id"]))

    def release_address(self, req: p.ReleaseAddressRequest) -> dict:
        spec = pools.PoolSpec.parse(req.pool_id)
        subnet = self.catalog.subnet_for_pool(spec, req.pool_id)
        if subnet is None:
            return {}  # the network went first, or this was the gateway of a never-created network
        for port in self.catalog.ports_with_address(subnet["network_id"], str(req.address)):
            if pools.IPAM_TAG not in port.get("tags", []) or ownership.fixed_ip_in(port, subnet["id"]) != str(req.address):
                continue  # gateway/aux addresses are no ports; other ports are not the IPAM's
            if not ownership.may_release(port, self.catalog.take_ended(port["id"])):
                continue  # a live endpoint's address: this release rolls back another request
            self.unplug(port["id"])
            rest = [f for f in port["fixed_ips"] if f["subnet_id"] != subnet["id"]]
            try:
                if rest:
                    self.api.update_port(port["id"], fixed_ips=rest)
                else:
                    self.api.delete_port(port["id"])
            except ApiError as exc:
                if exc.status != 404:
                    raise p.PluginError(f"cannot release {req.address}: {api_message(exc)}") from None
        return {}
