"""The NetworkDriver: Docker networks and endpoints as ovnet networks, subnets and ports.

* CreateNetwork makes an ovnet network with one subnet per Docker pool (gateway, ``--ip-range``
  as allocation pool, ``--aux-address``es kept out of it, ``--internal``: no gateway), or adopts
  an existing one named by ``-o ovnet.network=<name|id>`` whose subnets must be the pools. Adopted
  networks are only tagged and untagged, never deleted by Docker.
* CreateEndpoint binds the IPAM's port to the endpoint (device_id = EndpointID, this chassis as
  binding host) or, under Docker's built-in IPAM, makes the port; the MAC is answered only when
  dockerd sent none (libnetwork.md pitfall 4). Join plugs the veth, waits until ovn-controller has
  installed the port and answers SrcName, gateways and routes; DeleteEndpoint unplugs.
* Teardown is idempotent: what is already gone is success.
"""

from __future__ import annotations

import ipaddress
import logging
import threading

from ovnet.apiclient import ApiError
from ovnet.host.docker import pools
from ovnet.host.docker import protocol as p
from ovnet.host.docker.catalog import Catalog, api_message
from ovnet.host.docker.ipam import AUX_TAG, PoolLedger
from ovnet.host.docker.veth import peer_name
from ovnet.host.attach import AttachService
from ovnet.host.attachment import VETH
from ovnet.host.errors import HostError
from ovnet.host.ovs import OvsError

LOG = logging.getLogger(__name__)
HOST_ID = "binding:host_id"
PROFILE = "binding:profile"
PROFILE_NETWORK = "docker_network_id"  # which Docker network the endpoint is on, for the GC
INTERNAL_TAG = "docker.internal:"


def internal_tag(docker_network_id: str) -> str:
    return INTERNAL_TAG + docker_network_id[:44]


class NetworkDriver:
    """libnetwork NetworkDriver calls over the ovnet API and this host's OVS.

    ``attach`` plugs and unplugs (its veth plugin being ovnet.host.docker.veth.DockerVeth);
    ``address_space`` is what GetDefaultAddressSpaces answers: pools of any other space come from
    Docker's built-in IPAM."""

    def __init__(self, catalog: Catalog, ledger: PoolLedger, attach: AttachService, address_space: str):
        self.catalog, self.api, self.ledger = catalog, catalog.api, ledger
        self.attach, self.host, self.chassis = attach, attach.host, attach.chassis
        self.address_space = address_space
        self._lock = threading.Lock()  # network create/delete: the pool-uniqueness check is part of it

    # -- networks ------------------------------------------------------------------------------
    def create_network(self, req: p.CreateNetworkRequest) -> dict:
        claimed = [(data, self._claim(data)) for data in req.ipv4 + req.ipv6]
        project = self.catalog.project_id(req.generic.get(p.OPT_PROJECT), "-o")
        adopt = req.generic.get(p.OPT_NETWORK) or None
        for _data, (_pool_id, spec) in claimed:
            if spec.project and project and spec.project != project:
                raise p.PluginError(f"-o {p.OPT_PROJECT}={project} contradicts "
                                    f"--ipam-opt {p.OPT_PROJECT}={spec.project}")
            if spec.network and adopt and spec.network != adopt:
                raise p.PluginError(f"-o {p.OPT_NETWORK}={adopt} contradicts --ipam-opt {p.OPT_NETWORK}={spec.network}")
            project, adopt = project or spec.project, adopt or spec.network
        with self._lock:
            if self.catalog.network(req.network_id) is not None:
                return {}
            try:
                if adopt:
                    self._adopt(req, adopt, project, claimed)
                else:
                    self._create(req, project, claimed)
            except ApiError as exc:
                raise p.PluginError(f"ovnet refused the network: {api_message(exc)}") from None
        return {}

    def _claim(self, data: p.IPAMData) -> tuple[str, pools.PoolSpec]:
        """The PoolID dockerd holds for a pool and what it stands for. Pools of Docker's built-in
        IPAM, or whose RequestPool a restarted plugin forgot, get the plain spec of their CIDR."""
        if data.address_space == self.address_space:
            claimed = self.ledger.claim(data.pool)
            if claimed:
                return claimed
        spec = pools.PoolSpec(data.pool)
        return spec.pool_id(), spec

    def _check_pool_free(self, pool_id: str, cidr: pools.Network, allowed_network: str | None = None) -> None:
        for subnet in self.api.list_subnets(tags=pools.pool_tag(pool_id)):
            if subnet["network_id"] != allowed_network:
                raise p.PluginError(
                    f"pool {cidr} is already used by ovnet network {subnet['network_id']} (another Docker network); "
                    f"use another --subnet, join that network with -o {p.OPT_NETWORK}=<id>, or give another "
                    f"project with --ipam-opt {p.OPT_PROJECT}=<name>")

    def _create(self, req: p.CreateNetworkRequest, project: str | None, claimed: list) -> None:
        mtu = req.mtu()
        for data, (pool_id, _spec) in claimed:
            self._check_pool_free(pool_id, data.pool)
        tags = [pools.network_tag(req.network_id), pools.owner_tag(req.network_id)]
        if req.internal:
            tags.append(internal_tag(req.network_id))
        attrs: dict = {"name": f"docker-{req.network_id[:12]}", "tags": tags}
        if project:
            attrs["project_id"] = project
        if mtu:
            attrs["mtu"] = mtu
        net = self.api.create_network(**attrs)
        try:
            bodies = [self._subnet_body(net, data, pool_id, spec, req.internal) for data, (pool_id, spec) in claimed]
            if bodies:
                self.api.create_bulk("subnet", "subnets", bodies)
        except BaseException:
            self.api.delete_network(net["id"])
            raise

    @staticmethod
    def _subnet_body(net: dict, data: p.IPAMData, pool_id: str, spec: pools.PoolSpec, internal: bool) -> dict:
        gateway = data.gateway.ip if data.gateway else None
        aux = [a.ip for a in data.aux_addresses.values()]
        reserved = aux + ([gateway] if gateway is not None else [])
        allocation = pools.allocation_pools(pools.PoolSpec(data.pool, spec.ip_range), reserved)
        return {"network_id": net["id"], "project_id": net["project_id"], "name": f"docker-{data.pool}",
                "cidr": str(data.pool), "ip_version": data.pool.version,
                "gateway_ip": None if internal or gateway is None else str(gateway),
                "allocation_pools": allocation, "enable_dhcp": False,
                "tags": [pools.pool_tag(pool_id), *(AUX_TAG + str(a) for a in aux)]}

    def _adopt(self, req: p.CreateNetworkRequest, ref: str, project: str | None, claimed: list) -> None:
        net = self.catalog.resolve(ref, project)
        mtu = req.mtu()
        if mtu and mtu != net["mtu"]:
            raise p.PluginError(f"ovnet network {ref} has MTU {net['mtu']}; an adopted network keeps its MTU")
        subnets = {ipaddress.ip_network(s["cidr"]): s for s in self.catalog.subnets(net["id"])}
        to_tag = []
        for data, (pool_id, spec) in claimed:
            subnet = subnets.get(data.pool)
            if subnet is None:
                have = ", ".join(str(c) for c in subnets) or "none"
                raise p.PluginError(f"ovnet network {ref} has no subnet {data.pool} (its subnets: {have}); "
                                    f"create the Docker network with --subnet set to one of them")
            if not spec.network:
                self._check_pool_free(pool_id, data.pool, allowed_network=net["id"])
                to_tag.append((subnet["id"], pools.pool_tag(pool_id)))
        wanted = [("networks", net["id"], pools.network_tag(req.network_id)),
                  ("networks", net["id"], pools.in_use_tag(req.network_id))]
        if req.internal:
            wanted.append(("networks", net["id"], internal_tag(req.network_id)))
        wanted += [("subnets", subnet_id, tag) for subnet_id, tag in to_tag]
        added = []
        try:
            for plural, resource_id, tag in wanted:
                self.api.add_tag(plural, resource_id, tag)
                added.append((plural, resource_id, tag))
        except BaseException:
            for plural, resource_id, tag in reversed(added):
                self.api.remove_tag(plural, resource_id, tag)
            raise

    def delete_network(self, req: p.NetworkRequest) -> dict:
        with self._lock:
            net = self.catalog.network(req.network_id)
            self.catalog.forget(req.network_id)
            if net is None:
                return {}
            try:
                self._release_network(net, req.network_id)
            except ApiError as exc:
                if exc.status != 404:
                    raise p.PluginError(f"cannot delete ovnet network {net['id']}: {api_message(exc)}") from None
        return {}

    def _release_network(self, net: dict, docker_network_id: str) -> None:
        mine = {pools.network_tag(docker_network_id), pools.owner_tag(docker_network_id),
                internal_tag(docker_network_id), pools.in_use_tag(docker_network_id)}
        users = [t for t in net["tags"] if t.startswith(pools.NETWORK_TAG) and t not in mine]
        if pools.owner_tag(docker_network_id) in net["tags"] and not users:
            for port in self.api.list_ports(network_id=net["id"]):
                if port["device_owner"] == pools.DEVICE_OWNER or pools.IPAM_TAG in port["tags"]:
                    self.unplug(port["id"])  # endpoints whose teardown failed earlier
                    self.api.delete_port(port["id"])
            self.api.delete_network(net["id"])
            return
        for tag in mine & set(net["tags"]):
            self.api.remove_tag("networks", net["id"], tag)
        if not users:
            for subnet in self.catalog.subnets(net["id"]):
                for tag in subnet["tags"]:
                    if tag.startswith(pools.POOL_TAG):
                        self.api.remove_tag("subnets", subnet["id"], tag)

    # -- endpoints -----------------------------------------------------------------------------
    def create_endpoint(self, req: p.CreateEndpointRequest) -> dict:
        net = self.catalog.require_network(req.network_id)
        port = self._bind_endpoint_port(net, req)
        self.catalog.remember_endpoint(req.endpoint_id, port, net)
        return {"Interface": {} if req.mac_given else {"MacAddress": port["mac_address"]}}

    def _bind_endpoint_port(self, net: dict, req: p.CreateEndpointRequest) -> dict:
        binding = {"device_id": req.endpoint_id, "device_owner": pools.DEVICE_OWNER, HOST_ID: self.chassis,
                   PROFILE: {PROFILE_NETWORK: req.network_id}, "name": f"docker-{req.endpoint_id[:12]}"}
        addresses = [a for a in (req.address, req.address_ipv6) if a is not None]
        try:
            port = self._ipam_port(net, addresses, req.mac, req.endpoint_id)
            if port is not None:
                if port["device_id"] == req.endpoint_id:
                    return port
                # Bound without waiting for NB: Join's wait for ovn-installed covers that.
                attrs = {k: v for k, v in binding.items() if k != HOST_ID}
                return self.api.bind_port_host(port["id"], self.chassis, **attrs)["port"]
            # Docker's built-in IPAM chose the addresses: the port is ours to make (and to delete).
            made = self.catalog.endpoint_port(req.endpoint_id)
            if made is not None:
                return made
            subnets = [(ipaddress.ip_network(s["cidr"]), s["id"]) for s in self.catalog.subnets(net["id"])]
            fixed = []
            for address in addresses:
                subnet_id = next((sid for cidr, sid in subnets if address.ip in cidr), None)
                if subnet_id is None:
                    raise p.PluginError(f"address {address} is in no subnet of ovnet network {net['id']}")
                fixed.append({"subnet_id": subnet_id, "ip_address": str(address.ip)})
            attrs = {"network_id": net["id"], "project_id": net["project_id"], "fixed_ips": fixed, **binding}
            if req.mac:
                attrs["mac_address"] = req.mac
            return self.api.create_port(**attrs)
        except ApiError as exc:
            raise p.PluginError(f"cannot create the endpoint's port: {api_message(exc)}") from None

    def _ipam_port(self, net: dict, addresses: list, mac: str, endpoint_id: str) -> dict | None:
        """The port our IPAM made for these addresses, checked to be free (or this endpoint's
        already) and of this MAC."""
        if not addresses:
            return None
        for port in self.catalog.ports_with_address(net["id"], str(addresses[0].ip)):
            if pools.IPAM_TAG not in port["tags"]:
                raise p.PluginError(f"address {addresses[0].ip} belongs to ovnet port {port['id']}, not to Docker")
            if port["device_id"] not in ("", endpoint_id):
                raise p.PluginError(f"address {addresses[0].ip} is already used by endpoint {port['device_id'][:12]}")
            if mac and port["mac_address"] != mac:
                raise p.PluginError(f"the port of {addresses[0].ip} has MAC {port['mac_address']}, not {mac}")
            return port
        return None

    def endpoint_oper_info(self, req: p.EndpointRequest) -> dict:
        # dockerd asks this for every endpoint on every start/connect/inspect (pitfall 20): no I/O.
        return {"Value": {}}

    def join(self, req: p.JoinRequest) -> dict:
        endpoint = self.catalog.endpoint(req.endpoint_id)
        if endpoint is None:
            raise p.PluginError(f"endpoint {req.endpoint_id[:12]} is unknown to ovnet (CreateEndpoint lost?)")
        try:
            # CreateEndpoint bound the port; DeleteEndpoint (or the GC) unbinds it.
            attached = self.attach.attach(endpoint.port["id"], VETH, target="", keep_binding=True)
        except (HostError, OvsError, ApiError) as exc:
            raise p.PluginError(f"cannot plug endpoint {req.endpoint_id[:12]}: {exc}") from None
        attachment = attached.attachment
        gateways = {4: "", 6: ""}
        if internal_tag(req.network_id) not in endpoint.network["tags"]:
            gateways.update({g.version: str(g) for g in attachment.gateways})
        routes = [p.StaticRoute(str(r.destination), str(r.nexthop)) for r in attachment.routes]
        return p.JoinResponse(peer_name(attachment.port_id), gateways[4], gateways[6], routes).as_json()

    def unplug(self, port_id: str) -> None:
        """Unplug an endpoint's port here, leaving its binding (deleting the port unbinds it)."""
        self.attach.detach(port_id, unbind=False)

    def leave(self, req: p.EndpointRequest) -> dict:
        # The interface is inside the sandbox now; dockerd hands it back after this answer and
        # DeleteEndpoint removes it.
        return {}

    def delete_endpoint(self, req: p.EndpointRequest) -> dict:
        endpoint = self.catalog.endpoint(req.endpoint_id)
        self.catalog.forget_endpoint(req.endpoint_id)
        if endpoint is None:
            return {}
        port = endpoint.port
        self.unplug(port["id"])
        if pools.IPAM_TAG in port["tags"]:
            self.catalog.end_endpoint(port["id"])
            return {}  # the port holds the address until ReleaseAddress, which follows at once
        try:
            self.api.delete_port(port["id"])
        except ApiError as exc:
            if exc.status != 404:
                raise p.PluginError(f"cannot delete the port of endpoint {req.endpoint_id[:12]}: "
                                    f"{api_message(exc)}") from None
        return {}
