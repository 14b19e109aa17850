"""Binding ports of the model to VIFs on this host, and the reconcile that repairs local drift.

bind: the caller's token must see the port (the API answers 404 for another project's port, so a
member cannot bind it); then ``binding:host_id`` = this chassis (the API turns it into
``options:requested-chassis``), the VIF is plugged, and the bind waits for ovn-controller's
``ovn-installed``. Any failure, including the timeout, rolls back: no OVS port, no device,
``binding:host_id`` cleared (nothing is plugged here, so the port is bound nowhere).

The truth stays in the API and in OVS + the kernel (DESIGN.md principle 3); this object keeps
only the set of binds in flight so that a concurrent reconcile leaves them alone.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

from ovnet.apiclient import ApiClient, ApiError
from ovnet.host import converge
from ovnet.host.cni.protocol import DEVICE_OWNER as CNI_DEVICE_OWNER
from ovnet.host.docker.pools import DEVICE_OWNER as DOCKER_DEVICE_OWNER
from ovnet.host.errors import BadRequest, BindTimeout, Conflict, HostError, NotFound
from ovnet.host.vif import HostContext, parse_alias, vif_for

LOG = logging.getLogger(__name__)
HOST_ID = "binding:host_id"


@dataclass
class ReconcileReport:
    """What one reconcile changed, as port ids: OVS port/device ``removed`` or ``replugged``,
    workload end ``converged`` to its port, binding:host_id cleared (``unbound``)."""

    removed: list[str] = field(default_factory=list)
    replugged: list[str] = field(default_factory=list)
    converged: list[str] = field(default_factory=list)
    unbound: list[str] = field(default_factory=list)


class Binder:
    """Binds ports to VIFs on the chassis ``chassis`` of ``host``.

    ``api_urls`` are the API servers' base URLs (tried in order); ``admin`` an ApiClient with an
    admin token (used for the binding update itself and for network/subnets); a caller's token
    only decides which ports it may bind. ``bind_timeout`` is in seconds. Methods raise HostError
    subclasses; ApiError from the API passes through.
    """

    def __init__(self, host: HostContext, api_urls: Sequence[str], admin: ApiClient, chassis: str,
                 bind_timeout: float):
        self.host, self.admin, self.chassis, self.bind_timeout = host, admin, chassis, bind_timeout
        self.api_urls = api_urls
        self._inflight: set[str] = set()
        self._lock = threading.Lock()
        self._orphans: set[str] = set()  # bound here with nothing plugged, as the last round saw

    @contextmanager
    def _in_flight(self, port_id: str):
        with self._lock:
            if port_id in self._inflight:
                raise Conflict(f"port {port_id} is being bound or unbound right now")
            self._inflight.add(port_id)
        try:
            yield
        finally:
            with self._lock:
                self._inflight.discard(port_id)

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

    def bind(self, port_id: str, vif_type: str, target: str, token: str | None = None,
             **options) -> dict:
        """Bind ``port_id`` here as ``vif_type`` into ``target`` (see ovnet.host.vif for the
        meaning per type; ``options``: ifname, owner). Returns {"port_id", "vif_type", "device",
        "ready_s"} with ready_s the seconds from binding to ovn-installed. Idempotent for the same
        VIF type. Raises NotFound, Conflict, BadRequest, BindTimeout (after rolling back)."""
        vif = vif_for(vif_type, self.host)
        if not target:
            raise BadRequest(f"a {vif_type} binding needs a target (netns or device name)")
        port = self._visible_port(port_id, token)
        previous = port.get(HOST_ID) or ""
        if previous not in ("", self.chassis):
            raise Conflict(f"port {port_id} is bound to host {previous}; unbind it there first")
        with self._in_flight(port_id):
            started = time.monotonic()
            owned = self.host.ovs.port_by_id(port_id)
            if owned and owned.vif_type != vif_type:
                raise Conflict(f"port {port_id} is already plugged here as {owned.vif_type}; unbind it first")
            if owned and previous == self.chassis and vif.is_plugged(port_id):
                device = owned.name
            else:
                device = self._plug(vif, port, target, options)
            if not self.host.ovs.wait_installed(port_id, self.bind_timeout):
                self._rollback(vif, port_id)
                raise BindTimeout(f"port {port_id} was not ovn-installed on chassis {self.chassis} within "
                                  f"{self.bind_timeout:g} s (is ovn-controller running?); binding rolled back")
            return {"port_id": port_id, "vif_type": vif_type, "device": device,
                    "ready_s": round(time.monotonic() - started, 4)}

    def _plug(self, vif, port: dict, target: str, options: dict) -> str:
        port = self.admin.update_port(port["id"], **{HOST_ID: self.chassis})
        try:
            network = self.admin.show_network(port["network_id"])
            subnet_ids = sorted({f["subnet_id"] for f in port.get("fixed_ips", [])})
            subnets = self.admin.list_subnets(id=subnet_ids) if subnet_ids else []
            return vif.plug(port, network, subnets, target, **options)
        except BaseException:
            self._rollback(vif, port["id"])
            raise

    def _rollback(self, vif, port_id: str) -> None:
        try:
            vif.unplug(port_id)
        finally:
            try:
                self.admin.update_port(port_id, **{HOST_ID: ""})
            except ApiError as exc:
                if exc.status != 404:  # a port deleted meanwhile needs no rollback
                    raise

    def unbind(self, port_id: str, token: str | None = None) -> None:
        """Unplug ``port_id`` here and clear its ``binding:host_id``. Unbinding what is not bound
        here is a no-op; a port bound to another host is a Conflict; an invisible one NotFound."""
        try:
            port = self._visible_port(port_id, token)
        except NotFound:
            if token:
                raise
            port = None  # deleted from the API: only the local leftovers remain to remove
        if port and port.get(HOST_ID) not in ("", self.chassis):
            raise Conflict(f"port {port_id} is bound to host {port[HOST_ID]}, not {self.chassis}")
        with self._in_flight(port_id):
            owned = self.host.ovs.port_by_id(port_id)
            if owned:
                vif_for(owned.vif_type, self.host).unplug(port_id)
            if port and port.get(HOST_ID) == self.chassis:
                self.admin.update_port(port_id, **{HOST_ID: ""})

    def visible_ids(self, token: str, port_ids: list[str]) -> set[str]:
        """The ids among ``port_ids`` whose port the caller's ``token`` sees (with none given, of
        the ports bound here). Raises ApiError 401 for an invalid token."""
        filters = {"id": port_ids} if port_ids else {HOST_ID: self.chassis}
        with ApiClient(self.api_urls, token) as client:
            return {p["id"] for p in client.list_ports(**filters)} & set(port_ids)

    def bindings(self, token: str | None = None) -> list[dict]:
        """The ports plugged here: [{"port_id", "vif_type", "device", "mac", "installed"}]; with a
        caller's ``token`` only those of ports it sees (None: the admin, all)."""
        owned = self.host.ovs.owned_ports()
        if token:
            visible = self.visible_ids(token, [o.port_id for o in owned])
            owned = [o for o in owned if o.port_id in visible]
        return [{"port_id": o.port_id, "vif_type": o.vif_type, "device": o.name, "mac": o.mac,
                 "installed": o.installed} for o in owned]

    def reconcile(self, startup: bool = False) -> ReconcileReport:
        """Converge this host to the API: owned OVS ports whose port is gone or bound elsewhere, or
        whose device vanished (its workload namespace was deleted), are removed; ovnet host-end
        devices (found by their alias) of ports still bound here that lost their OVS port are put
        back on the bridge; ovnet devices of ports not bound here, or left half-made, are deleted;
        workload ends of veths whose addresses, MTU or link state differ from their port are
        reconfigured (ovnet.host.converge); a port bound here with nothing of it on this host (an
        agent killed between setting binding:host_id and plugging) has its binding cleared, since
        no target is known to plug it into: at ``startup`` at once, else when two rounds in a row
        saw it so (someone else may be plugging it by hand right now). Binds in flight are left alone. OVS is read before the
        API, so a port plugged meanwhile is never seen unbound."""
        report = ReconcileReport()
        with self._lock:
            busy = set(self._inflight)
        owned = self.host.ovs.owned_ports()
        links, devices, ends = self._links()
        bound = {p["id"]: p for p in self.admin.list_ports(**{HOST_ID: self.chassis})}
        with self._lock:
            busy |= self._inflight
        for entry in owned:
            if entry.port_id in busy:
                continue
            if entry.port_id not in bound or entry.name not in links:
                vif_for(entry.vif_type, self.host).unplug(entry.port_id)
                report.removed.append(entry.port_id)
        on_bridge = {o.port_id for o in owned}
        for port_id, (name, vif_type, complete) in devices.items():
            if port_id in busy or port_id in on_bridge:
                continue
            if port_id in bound and complete:
                self.host.ovs.add_port(name, port_id, bound[port_id]["mac_address"], vif_type)
                report.replugged.append(port_id)
            else:
                vif_for(vif_type, self.host).delete_device(name)
                report.removed.append(port_id)
        self._converge({i: e for i, e in ends.items() if i in bound and i not in busy}, bound, report)
        self._unbind_orphans([p for i, p in bound.items() if i not in busy], startup, report)
        if report.removed or report.replugged or report.converged or report.unbound:
            LOG.info("reconcile: removed %s, replugged %s, converged %s, unbound %s",
                     report.removed, report.replugged, report.converged, report.unbound)
        return report

    def _converge(self, ends: dict[str, converge.WorkloadEnd], bound: dict[str, dict],
                  report: ReconcileReport) -> None:
        if not ends:
            return
        network_ids = sorted({bound[i]["network_id"] for i in ends})
        networks = {n["id"]: n for n in self.admin.list_networks(id=network_ids)}
        for port_id, end in ends.items():
            port, network = bound[port_id], networks.get(bound[port_id]["network_id"])
            mtu = int(network["mtu"]) if network and network.get("mtu") else None
            if network is None or not converge.drifted(end, port, mtu):
                continue
            subnet_ids = sorted({f["subnet_id"] for f in port.get("fixed_ips", [])})
            subnets = self.admin.list_subnets(id=subnet_ids) if subnet_ids else []
            converge.converge(end, port, network, subnets)
            report.converged.append(port_id)

    def _unbind_orphans(self, ports: list[dict], startup: bool, report: ReconcileReport) -> None:
        # Ports Docker's driver binds before its Join plugs them are its to collect, CNI ports the
        # CNI sweep deletes after its grace period, and an OVS port that is not ovnet's (libvirt's
        # tap) is a plug all the same.
        plugged = self.host.ovs.iface_ids()  # after this round's removals and replugs, and binds since
        with self._lock:
            busy = set(self._inflight)
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
        port id -> (name, vif type, complete); and the workload ends of the complete veths. A veth
        is complete when its peer reached another namespace; one whose peer is still here is what
        an agent killed mid-plug leaves."""
        names: set[str] = set()
        devices: dict[str, tuple[str, str, bool]] = {}
        ends: dict[str, converge.WorkloadEnd] = {}
        with self.host.iproute() as ipr:
            namespaces = None
            for link in ipr.get_links():
                name = link.get_attr("IFLA_IFNAME")
                names.add(name)
                record = parse_alias(link.get_attr("IFLA_IFALIAS"))
                if record:
                    moved = link.get_attr("IFLA_LINK_NETNSID") is not None
                    devices[record[0]] = (name, record[1], record[1] != "veth" or moved)
                    if record[1] == "veth" and moved:
                        namespaces = converge.namespaces_by_nsid(ipr) if namespaces is None else namespaces
                        end = converge.workload_end(link, namespaces)
                        if end is not None:
                            ends[record[0]] = end
        return names, devices, ends


def host_error_body(exc: HostError | ApiError) -> tuple[int, dict]:
    """(HTTP status, NeutronError body) for an error raised by the Binder."""
    return exc.status, {"NeutronError": {"type": exc.type, "message": exc.message, "detail": ""}}

