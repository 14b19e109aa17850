"""The agent's binding front-end and the reconcile that repairs local drift.

bind: the caller's token must see the port (the API answers 404 for another project's port, so a
member cannot bind it); then the attach service (ovnet.host.attach) binds, plugs and waits for
``ovn-installed``, rolling back fully on any failure.

The truth stays in the API and in OVS + the kernel (DESIGN.md principle 3); the attach service
keeps only the set of binds in flight so that a concurrent reconcile leaves them alone.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from ovnet.apiclient import ApiClient, ApiError
from ovnet.host import converge, linkscan
from ovnet.host.attach import HOST_ID, AttachService
from ovnet.host.attachment import VETH, Attachment
from ovnet.host.cni.protocol import DEVICE_OWNER as CNI_DEVICE_OWNER
from ovnet.host.docker.pools import DEVICE_OWNER as DOCKER_DEVICE_OWNER
from ovnet.host.errors import Conflict, HostError, NotFound
from ovnet.host.vif import RELEASED, parse_alias

LOG = logging.getLogger(__name__)


@dataclass
class ReconcileReport:
    """What one reconcile changed, as port ids: OVS port/device ``removed`` or ``replugged``,
    workload end ``converged`` to its port, binding:host_id cleared (``unbound``)."""

    removed: list[str] = field(default_factory=list)
    replugged: list[str] = field(default_factory=list)
    converged: list[str] = field(default_factory=list)
    unbound: list[str] = field(default_factory=list)


class Binder:
    """Binds ports to VIFs on this host for callers of the agent's socket, through ``service``.

    ``api_urls`` are the API servers' base URLs (tried in order); a caller's token there only
    decides which ports it may bind (the service binds with its admin client). Methods raise
    HostError subclasses; ApiError from the API passes through.
    """

    def __init__(self, service: AttachService, api_urls: Sequence[str]):
        self.service, self.api_urls = service, api_urls
        self.host, self.admin, self.chassis = service.host, service.api, service.chassis
        self._orphans: set[str] = set()  # bound here with nothing plugged, as the last round saw
        self._vanished: set[str] = set()  # ports whose device went with its namespace, for take_vanished
        self._namespaces = converge.NamespaceIds()  # workload namespaces as the bridge's sees them

    def _visible_port(self, port_id: str, token: str | None) -> dict:
        # The caller's token decides whether the port exists for it; the port itself is read
        # with the admin token, as binding:* attributes are shown to admins only (Neutron policy).
        try:
            if token:
                with ApiClient(self.api_urls, token) as client:
                    client.show_port(port_id)
            return self.admin.show_port(port_id)
        except ApiError as exc:
            if exc.status == 404:
                raise NotFound(f"port {port_id} could not be found") from None
            raise

    def bind(self, port_id: str, kind: str, target: str, token: str | None = None, ifname: str = "eth0",
             owner: str | None = None) -> dict:
        """Bind ``port_id`` here as VIF ``kind`` into ``target`` (ovnet.host.attachment.Attachment
        says what target, ifname and owner mean per kind). Returns {"port_id", "kind", "device",
        "ready_s", "stages"} with ready_s the seconds from binding to ovn-installed and stages how
        they split (ovnet.host.attach.Attached). Idempotent for the same kind. Raises NotFound,
        Conflict, BadRequest, BindTimeout (after rolling back)."""
        if token:  # the admin's own requests skip this round-trip: the bind itself answers 404
            self._visible_port(port_id, token)
        attached = self.service.attach(port_id, kind, target, ifname=ifname, owner=owner)
        return {"port_id": port_id, "kind": kind, "device": attached.device, "ready_s": attached.ready_s,
                "stages": attached.stages}

    def attach_created(self, port: dict, network: dict, subnets: list[dict], kind: str, target: str,
                       ifname: str = "eth0") -> None:
        """Plug ``port``, which the caller has just created bound to this chassis with the admin
        token (Neutron JSON, with its ``network`` and the ``subnets`` of its fixed IPs), as
        ``bind`` would, without the bind's round trip. A failure leaves the binding to the caller,
        who deletes the port. Raises as ``bind``."""
        bound = {"port": port, "network": network, "subnets": subnets, "changed": True}
        self.service.attach(port["id"], kind, target, ifname=ifname, keep_binding=True, bound=bound)

    def unbind(self, port_id: str, token: str | None = None) -> None:
        """Unplug ``port_id`` here and clear its ``binding:host_id``. Unbinding what is not bound
        here is a no-op; a port bound to another host is a Conflict; an invisible one NotFound."""
        try:
            port = self._visible_port(port_id, token)
        except NotFound:
            if token:
                raise
            port = None  # deleted from the API: only the local leftovers remain to remove
        if port:
            self._check_host(port)
        self.service.detach(port_id, unbind=bool(port and port.get(HOST_ID) == self.chassis))

    def unplug_for_delete(self, port: dict) -> None:
        """Unplug ``port`` (Neutron JSON as an admin sees it, with ``binding:host_id``) here ahead of
        its deletion, without an API call: the binding goes with the port. A port bound to another
        host is a Conflict; nothing plugged here is fine."""
        self._check_host(port)
        self.service.detach(port["id"], unbind=False, final=True)

    def release_for_delete(self, port: dict) -> Callable[[], None]:
        """As unplug_for_delete, but the slow part (deleting a veth pair) is left to the returned
        ``finish`` (ovnet.host.attach.AttachService.release), which the caller runs after the
        port's deletion."""
        self._check_host(port)
        return self.service.release(port["id"])

    def _check_host(self, port: dict) -> None:
        if port.get(HOST_ID) not in ("", self.chassis):
            raise Conflict(f"port {port['id']} is bound to host {port[HOST_ID]}, not {self.chassis}")

    def visible_ids(self, token: str, port_ids: list[str]) -> set[str]:
        """The ids among ``port_ids`` whose port the caller's ``token`` sees (with none given, the
        API only checks the token). Raises ApiError 401 for an invalid token."""
        with ApiClient(self.api_urls, token) as client:
            if not port_ids:
                # One page of one port is enough for the check; a member may not filter on
                # binding:host_id (admin-only, as in Neutron: 400).
                client.request("GET", "/v2.0/ports", params={"limit": 1, "fields": "id"})
                return set()
            return {p["id"] for p in client.list_ports(id=port_ids)} & set(port_ids)

    def authenticate(self, token: str) -> None:
        """Have the API check ``token`` with the cheapest read any caller may make (one port at
        most); raises ApiError 401 for an invalid one."""
        with ApiClient(self.api_urls, token) as client:
            client.list("ports", limit=1)

    def bindings(self, token: str | None = None) -> list[dict]:
        """The ports plugged here: [{"port_id", "kind", "device", "mac", "installed"}]; with a
        caller's ``token`` only those of ports it sees (None: the admin, all)."""
        owned = self.host.ovs.owned_ports()
        if token:
            visible = self.visible_ids(token, [o.port_id for o in owned])
            owned = [o for o in owned if o.port_id in visible]
        return [{"port_id": o.port_id, "kind": o.kind, "device": o.name, "mac": o.mac,
                 "installed": o.installed} for o in owned]

    def inventory(self) -> dict:
        """What this host holds, read only (for ``ovnet check``): {"chassis": name, "interfaces":
        [{"port_id", "kind", "device", "mac", "installed"}] (ovnet's OVS interfaces), "plugged":
        [port ids of every interface with an iface-id, ovnet's or not (libvirt's taps)], "devices":
        [{"port_id", "kind", "device", "complete"}] (ovnet's host-end devices, by their alias),
        "busy": [port ids being attached or detached right now]}."""
        busy = self.service.busy()
        owned = self.host.ovs.owned_ports()
        _names, devices, _ends = self._links()
        return {"chassis": self.chassis,
                "interfaces": [{"port_id": o.port_id, "kind": o.kind, "device": o.name, "mac": o.mac,
                                "installed": o.installed} for o in owned],
                "plugged": sorted(self.host.ovs.iface_ids()),
                "devices": [{"port_id": pid, "kind": kind, "device": name, "complete": complete}
                            for pid, (name, kind, complete) in sorted(devices.items())],
                "busy": sorted(busy | self.service.busy())}

    def reconcile(self, startup: bool = False) -> ReconcileReport:
        """Converge this host to the API: owned OVS ports whose port is gone or bound elsewhere, or
        whose device vanished (its workload namespace was deleted), are removed; ovnet host-end
        devices (found by their alias) of ports still bound here that lost their OVS port are put
        back on the bridge; ovnet devices of ports not bound here, or left half-made, or released (a
        CNI DEL's veth, ovnet.host.vif.VethVif.release), are deleted (but not a tap a VM holds, which
        stays off the bridge for a rebind and is not reported);
        workload ends of veths whose addresses, MTU or link state differ from their port are
        reconfigured (ovnet.host.converge); a port bound here with nothing of it on this host (an
        agent killed between setting binding:host_id and plugging) has its binding cleared, since
        no target is known to plug it into: at ``startup`` at once, else when two rounds in a row
        saw it so (someone else may be plugging it by hand right now). Binds in flight are left alone. OVS is read before the
        API, so a port plugged meanwhile is never seen unbound."""
        report = ReconcileReport()
        busy = self.service.busy()
        owned = self.host.ovs.owned_ports()
        links, devices, ends = self._links()
        bound = {p["id"]: p for p in self.admin.list_ports(**{HOST_ID: self.chassis})}
        busy |= self.service.busy()
        for entry in owned:
            if entry.port_id in busy:
                continue
            if entry.port_id not in bound or entry.name not in links:
                self.service.plugin(entry.kind).unplug(entry.port_id)
                report.removed.append(entry.port_id)
                if entry.name not in links:
                    self._vanished.add(entry.port_id)
        on_bridge = {o.port_id for o in owned}
        for port_id, (name, kind, complete) in devices.items():
            if port_id in busy or port_id in on_bridge:
                continue
            if kind == RELEASED:  # a DEL's veth that an agent killed meanwhile did not delete
                self.service.plugin(VETH).delete_device(name)
                report.removed.append(port_id)
            elif port_id in bound and complete:
                self.host.ovs.add_port(name, port_id, bound[port_id]["mac_address"], kind)
                report.replugged.append(port_id)
            elif self.service.plugin(kind).delete_device(name):
                # Only what this round really deleted is reported: a VM's tap kept off the bridge
                # (a held tap is never deleted) would otherwise be "removed" again every round.
                report.removed.append(port_id)
        self._converge({i: e for i, e in ends.items() if i in bound and i not in busy}, bound, report)
        self._unbind_orphans([p for i, p in bound.items() if i not in busy], startup, report)
        if report.removed or report.replugged or report.converged or report.unbound:
            LOG.info("reconcile: removed %s, replugged %s, converged %s, unbound %s",
                     report.removed, report.replugged, report.converged, report.unbound)
        return report

    def take_vanished(self) -> set[str]:
        """Ids of the ports whose OVS port a reconcile (this process's, start-up included) removed
        because its device had vanished (a veth goes with its workload's namespace), since the
        last call; the CNI sweep deletes such CNI ports without waiting for its grace period."""
        taken, self._vanished = self._vanished, set()
        return taken

    def _converge(self, ends: dict[str, converge.WorkloadEnd], bound: dict[str, dict],
                  report: ReconcileReport) -> None:
        if not ends:
            return
        network_ids = sorted({bound[i]["network_id"] for i in ends})
        networks = {n["id"]: n for n in self.admin.list_networks(id=network_ids)}
        by_netns: dict[str, dict[str, converge.WorkloadEnd]] = {}
        for port_id, end in ends.items():
            by_netns.setdefault(end.netns, {})[port_id] = end
        states = {port_id: state for netns, group in by_netns.items()
                  for port_id, state in self._read_ends(netns, group).items()}
        for port_id, end in ends.items():
            port, network = bound[port_id], networks.get(bound[port_id]["network_id"])
            mtu = int(network["mtu"]) if network and network.get("mtu") else None
            if network is None or port_id not in states or not converge.drifted(states[port_id], port, mtu):
                continue  # without a state the end is gone: the next round removes its host end
            subnet_ids = sorted({f["subnet_id"] for f in port.get("fixed_ips", [])})
            subnets = self.admin.list_subnets(id=subnet_ids) if subnet_ids else []
            converge.converge(end, port, Attachment.from_neutron(port, network, subnets, VETH, end.netns))
            report.converged.append(port_id)

    @staticmethod
    def _read_ends(netns: str, ends: dict[str, converge.WorkloadEnd]) -> dict[str, converge.EndState]:
        # One read per namespace (a pod's, or one namespace holding many ends), not one per end.
        states = converge.read_ends(netns, [end.index for end in ends.values()])
        return {port_id: states[end.index] for port_id, end in ends.items() if end.index in states}

    def _unbind_orphans(self, ports: list[dict], startup: bool, report: ReconcileReport) -> None:
        # Ports Docker's driver binds before its Join plugs them are its to collect, CNI ports the
        # CNI sweep deletes after its grace period, and an OVS port that is not ovnet's (libvirt's
        # tap) is a plug all the same.
        plugged = self.host.ovs.iface_ids()  # after this round's removals and replugs, and binds since
        busy = self.service.busy()
        orphans = {p["id"] for p in ports if p.get("device_owner") not in (DOCKER_DEVICE_OWNER, CNI_DEVICE_OWNER)
                   and p["id"] not in plugged and p["id"] not in busy}
        due = orphans if startup else orphans & self._orphans
        self._orphans = orphans - due
        for port_id in sorted(due):
            try:
                self.admin.update_port(port_id, **{HOST_ID: ""})
            except ApiError as exc:
                if exc.status != 404:
                    raise
                continue
            report.unbound.append(port_id)

    def _links(self) -> tuple[set[str], dict[str, tuple[str, str, bool]], dict[str, converge.WorkloadEnd]]:
        """Interface names in the bridge's namespace; ovnet's host-end devices among them as
        port id -> (name, VIF kind, complete); and the workload ends of the complete veths. A veth
        is complete when its peer reached another namespace; one whose peer is still here is what
        an agent killed mid-plug leaves."""
        names: set[str] = set()
        devices: dict[str, tuple[str, str, bool]] = {}
        moved: dict[str, linkscan.Link] = {}
        for link in linkscan.links(self.host.netns):  # not pyroute2's dump: see ovnet.host.linkscan
            names.add(link.name)
            record = parse_alias(link.alias)
            if record:
                away = link.peer_nsid is not None
                devices[record[0]] = (link.name, record[1], record[1] != VETH or away)
                if record[1] == VETH and away:
                    moved[record[0]] = link
        ends: dict[str, converge.WorkloadEnd] = {}
        if moved:
            with self.host.iproute() as ipr:
                namespaces = self._namespaces.resolve(ipr, {link.peer_nsid for link in moved.values()})
            for port_id, link in moved.items():
                end = converge.workload_end(link, namespaces)
                if end is not None:
                    ends[port_id] = end
        return names, devices, ends


def host_error_body(exc: HostError | ApiError) -> tuple[int, dict]:
    """(HTTP status, NeutronError body) for an error raised by the Binder."""
    return exc.status, {"NeutronError": {"type": exc.type, "message": exc.message, "detail": ""}}

