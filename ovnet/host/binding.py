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
from contextlib import contextmanager
from dataclasses import dataclass, field

from ovnet.apiclient import ApiClient, ApiError
from ovnet.host.errors import BadRequest, BindTimeout, Conflict, HostError, NotFound
from ovnet.host.vif import HostContext, parse_alias, vif_for

LOG = logging.getLogger(__name__)
HOST_ID = "binding:host_id"


@dataclass
class ReconcileReport:
    """What one reconcile changed: port ids whose OVS port/device was ``removed`` and ``replugged``."""

    removed: list[str] = field(default_factory=list)
    replugged: list[str] = field(default_factory=list)


class Binder:
    """Binds ports to VIFs on the chassis ``chassis`` of ``host``.

    ``api_url`` is the API's base URL; ``admin`` an ApiClient with an admin token (used for the
    binding update itself and for network/subnets); a caller's token only decides which ports it
    may bind. ``bind_timeout`` is in seconds. Methods raise HostError subclasses; ApiError from
    the API passes through.
    """

    def __init__(self, host: HostContext, api_url: str, admin: ApiClient, chassis: str, bind_timeout: float):
        self.host, self.admin, self.chassis, self.bind_timeout = host, admin, chassis, bind_timeout
        self.api_url = api_url
        self._inflight: set[str] = set()
        self._lock = threading.Lock()

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
        try:
            if token:
                with ApiClient(self.api_url, token) as client:
                    return client.show_port(port_id)
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
        with ApiClient(self.api_url, token) as client:
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

    def reconcile(self) -> ReconcileReport:
        """Converge this host to the API: owned OVS ports whose port is gone or bound elsewhere, or
        whose device vanished (its workload namespace was deleted), are removed; ovnet host-end
        devices (found by their alias) of ports still bound here that lost their OVS port are put
        back on the bridge; ovnet devices of ports not bound here, or left half-made, are deleted. Binds in flight are
        left alone. OVS is read before the API, so a port plugged meanwhile is never seen unbound."""
        report = ReconcileReport()
        owned = self.host.ovs.owned_ports()
        links, devices = self._links()
        bound = {p["id"]: p for p in self.admin.list_ports(**{HOST_ID: self.chassis})}
        with self._lock:
            busy = set(self._inflight)
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
        if report.removed or report.replugged:
            LOG.info("reconcile: removed %s, replugged %s", report.removed, report.replugged)
        return report

    def _links(self) -> tuple[set[str], dict[str, tuple[str, str, bool]]]:
        """Interface names in the bridge's namespace, and ovnet's host-end devices among them as
        port id -> (name, vif type, complete). A veth is complete when its peer reached another
        namespace; one whose peer is still here is what an agent killed mid-plug leaves."""
        names: set[str] = set()
        devices: dict[str, tuple[str, str, bool]] = {}
        with self.host.iproute() as ipr:
            for link in ipr.get_links():
                name = link.get_attr("IFLA_IFNAME")
                names.add(name)
                record = parse_alias(link.get_attr("IFLA_IFALIAS"))
                if record:
                    moved = link.get_attr("IFLA_LINK_NETNSID") is not None
                    devices[record[0]] = (name, record[1], record[1] != "veth" or moved)
        return names, devices


def host_error_body(exc: HostError | ApiError) -> tuple[int, dict]:
    """(HTTP status, NeutronError body) for an error raised by the Binder."""
    return exc.status, {"NeutronError": {"type": exc.type, "message": exc.message, "detail": ""}}

