"""The host-side attach service: the one place that binds, plugs and unplugs ports on this host.

Every front-end goes through it: the agent's socket (``ovnet port bind``), the Docker driver's
Join and DeleteEndpoint, the CNI plugin. One attach is:

1. check the request (VIF kind, interface name, target) -- nothing is written for a bad one;
2. bind: one API round-trip (``PUT /v2.0/ports/{id}/bind_host``) sets ``binding:host_id`` to
   this chassis and returns the port, its network and subnets; it does not wait for NB;
3. plug the VIF plugin of the kind (ovnet.host.vif) with a typed ovnet.host.attachment.Attachment;
4. wait for ovn-controller's ``ovn-installed`` on the interface, woken by the IDL this host
   already holds (ovnet.host.ovs.LocalOvs.wait_installed), never by polling.

Any failure after step 2 -- the plug, the timeout, an interrupt -- rolls back fully: the plugin
removes the OVS port and the devices it made, and ``binding:host_id`` is cleared, unless the
caller owns the binding (Docker binds at CreateEndpoint and unbinds at DeleteEndpoint).

Entry points: ``AttachService.attach(port_id, kind, target, ifname=..., owner=...) -> Attached``
and ``AttachService.detach(port_id, unbind=...)``. A port is attached or detached by one caller at
a time (Conflict otherwise); ``busy()`` lists those in flight so the agent's reconcile leaves
them alone.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from ovnet.apiclient import ApiClient, ApiError
from ovnet.host.attachment import VETH, Attachment, check_ifname, check_kind, plugged_into
from ovnet.host.errors import BindTimeout, Conflict, NotFound
from ovnet.host.vif import PLUGINS, HostContext, Vif

HOST_ID = "binding:host_id"


@dataclass(frozen=True)
class Attached:
    """A finished attach: the ``attachment`` plugged, its ``device`` on the integration bridge,
    ``ready_s``, seconds from the bind request to ``ovn-installed``, and ``stages``, how those
    seconds split: {"bind": the API's bind_host answer, "plug": the VIF plugged and on the bridge,
    "installed": ovn-controller's ``ovn-installed`` after that} (what a scale run needs to tell
    where a port's ready time goes)."""

    attachment: Attachment
    device: str
    ready_s: float
    stages: dict[str, float]


class _InFlight:
    """Port ids being attached or detached right now, shared by the services of one agent."""

    def __init__(self) -> None:
        self.ids: set[str] = set()
        self.lock = threading.Lock()


class AttachService:
    """Attaches ports of the API at ``api`` (an admin ApiClient) to VIFs of ``host`` (chassis
    ``chassis``); ``bind_timeout`` is the longest wait for ``ovn-installed``, in seconds.
    ``plugins`` maps each VIF kind to its plugin class (default ovnet.host.vif.PLUGINS)."""

    def __init__(self, host: HostContext, api: ApiClient, chassis: str, bind_timeout: float,
                 plugins: dict[str, type[Vif]] | None = None, _inflight: _InFlight | None = None):
        self.host, self.api, self.chassis, self.bind_timeout = host, api, chassis, bind_timeout
        self._plugins = {kind: cls(host) for kind, cls in (plugins or PLUGINS).items()}
        self._inflight = _inflight or _InFlight()

    def with_plugin(self, kind: str, plugin: type[Vif]) -> AttachService:
        """A service like this one whose VIF ``kind`` is plugged by ``plugin`` (Docker's veth, whose
        peer dockerd moves), sharing this one's in-flight set."""
        classes = {k: type(v) for k, v in self._plugins.items()} | {kind: plugin}
        return AttachService(self.host, self.api, self.chassis, self.bind_timeout, classes, self._inflight)

    def plugin(self, kind: str) -> Vif:
        """The plugin object of VIF ``kind``; BadRequest for an unknown kind."""
        return self._plugins[check_kind(kind)]

    def busy(self) -> set[str]:
        """Port ids being attached or detached right now."""
        with self._inflight.lock:
            return set(self._inflight.ids)

    def _claim(self, port_id: str) -> None:
        with self._inflight.lock:
            if port_id in self._inflight.ids:
                raise Conflict(f"port {port_id} is being bound or unbound right now")
            self._inflight.ids.add(port_id)

    def _unclaim(self, port_id: str) -> None:
        with self._inflight.lock:
            self._inflight.ids.discard(port_id)

    @contextmanager
    def _in_flight(self, port_id: str) -> Iterator[None]:
        self._claim(port_id)
        try:
            yield
        finally:
            self._unclaim(port_id)

    def attach(self, port_id: str, kind: str, target: str, ifname: str = "eth0", owner: str | None = None,
               keep_binding: bool = False, bound: dict | None = None) -> Attached:
        """Bind ``port_id`` to this chassis, plug it as VIF ``kind`` into ``target`` (see
        ovnet.host.attachment.Attachment for ``target``, ``ifname``, ``owner``) and wait for
        ``ovn-installed``. Idempotent: a port already bound here and plugged as ``kind`` is only
        waited for. On failure everything is rolled back; ``keep_binding`` leaves
        ``binding:host_id`` set (the caller owns it). ``bound``: the caller bound the port itself
        (it created it with ``binding:host_id`` of this chassis), and this is what bind_host would
        have answered ({"port", "network", "subnets", "changed"}); no bind round trip is made.

        Raises BadRequest (bad kind, ifname or target), NotFound (no such port), Conflict (bound to
        another host, plugged here as another kind or into another target, or in flight),
        BindTimeout (not installed within ``bind_timeout``), OvsError; other ApiErrors pass through."""
        plugin = self.plugin(kind)
        check_ifname(ifname)
        plugin.check(target, owner)
        with self._in_flight(port_id):
            started = time.monotonic()
            owned = self.host.ovs.port_by_id(port_id)
            if owned and owned.kind != kind:
                raise Conflict(f"port {port_id} is already plugged here as {owned.kind}; unbind it first")
            # The devices decide when the record differs: the same netns by name or by path, or an
            # OVS port the agent's reconcile re-added (it records no target).
            if owned and owned.target != plugged_into(target, ifname) and not plugin.holds(owned, target, ifname):
                where = owned.target or "another target"
                raise Conflict(f"port {port_id} is already plugged here into {where}; unbind it first")
            bound = bound or self._bind(port_id)
            marks = [time.monotonic()]
            try:
                attachment = Attachment.from_neutron(bound["port"], bound["network"], bound["subnets"], kind,
                                                     target, ifname, owner)
                if owned and not bound["changed"] and plugin.is_plugged(port_id):
                    device = owned.name
                else:
                    device = plugin.plug(attachment)
                marks.append(time.monotonic())
                if not self.host.ovs.wait_installed(port_id, self.bind_timeout):
                    raise BindTimeout(f"port {port_id} was not ovn-installed on chassis {self.chassis} within "
                                      f"{self.bind_timeout:g} s (is ovn-controller running?); binding rolled back")
            except BaseException:
                self._rollback(plugin, port_id, unbind=not keep_binding)
                raise
            marks.append(time.monotonic())
            stages = {name: round(end - begin, 4)
                      for name, begin, end in zip(("bind", "plug", "installed"), [started] + marks, marks)}
            return Attached(attachment, device, round(marks[-1] - started, 4), stages)

    def park(self, port: dict, network: dict, subnets: list[dict]) -> str:
        """Plug ``port``, which the caller created bound to this chassis (Neutron JSON, with its
        ``network`` and the ``subnets`` of its fixed IPs), as a veth whose workload end stays
        parked on this host (ovnet.host.vif.VethVif.park), and wait for ``ovn-installed``: a port
        ready to be handed to a workload at once (``unpark``). Returns the host end's name. On
        failure the plug is rolled back and the port is the caller's to delete. Raises Conflict (in
        flight), BindTimeout, OvsError."""
        plugin = self.plugin(VETH)
        with self._in_flight(port["id"]):
            try:
                device = plugin.park(Attachment.from_neutron(port, network, subnets, VETH, ""))
                if not self.host.ovs.wait_installed(port["id"], self.bind_timeout):
                    raise BindTimeout(f"parked port {port['id']} was not ovn-installed on chassis {self.chassis} "
                                      f"within {self.bind_timeout:g} s")
            except BaseException:
                plugin.unplug(port["id"], final=True)
                raise
            return device

    def unpark(self, port: dict, network: dict, subnets: list[dict], target: str, ifname: str) -> None:
        """Hand parked ``port`` (``park``) to a workload: its end moves into netns ``target`` as
        ``ifname`` and gets the port's addresses and routes. Raises BadRequest, Conflict (see
        VethVif.unpark; then the caller unplugs the port)."""
        check_ifname(ifname)
        with self._in_flight(port["id"]):
            self.plugin(VETH).unpark(Attachment.from_neutron(port, network, subnets, VETH, target, ifname))

    def _bind(self, port_id: str) -> dict:
        try:
            return self.api.bind_port_host(port_id, self.chassis)
        except ApiError as exc:
            if exc.status == 404:
                raise NotFound(f"port {port_id} could not be found") from None
            if exc.status == 409:  # the API's own type (PortNotBindable, PortBindingConflict) is kept
                raise Conflict(exc.message, exc.type) from None
            raise

    def _rollback(self, plugin: Vif, port_id: str, unbind: bool) -> None:
        try:
            plugin.unplug(port_id)
        finally:
            if unbind:
                self._clear_binding(port_id)

    def _clear_binding(self, port_id: str) -> None:
        try:
            self.api.update_port(port_id, **{HOST_ID: ""})
        except ApiError as exc:
            if exc.status != 404:  # a port deleted meanwhile needs no unbinding
                raise

    def detach(self, port_id: str, unbind: bool, final: bool = False) -> None:
        """Unplug ``port_id`` here (its OVS port and the devices ovnet made; nothing there is
        fine) and, with ``unbind``, clear its ``binding:host_id``; ``final`` when the port is
        about to be deleted (ovnet.host.vif.Vif.unplug). Conflict while it is in flight."""
        with self._in_flight(port_id):
            owned = self.host.ovs.port_by_id(port_id)
            if owned:
                self.plugin(owned.kind).unplug(port_id, final=final)
            if unbind:
                self._clear_binding(port_id)

    def release(self, port_id: str) -> Callable[[], None]:
        """Unplug ``port_id`` at once ahead of its deletion (ovnet.host.vif.Vif.release: its OVS
        port goes now, a veth pair is only marked released) and return ``finish``, which deletes
        what release left and must be called once, after the caller's own remaining work. The
        port stays in flight until then (``busy()``), so the reconcile and ``ovnet check`` leave it
        alone. Conflict while it is in flight."""
        self._claim(port_id)
        try:
            owned = self.host.ovs.port_by_id(port_id)
            plugin = self.plugin(owned.kind) if owned else None
            device = plugin.release(port_id) if plugin else None
        except BaseException:
            self._unclaim(port_id)
            raise

        def finish() -> None:
            try:
                if plugin and device:
                    plugin.delete_device(device)
            finally:
                self._unclaim(port_id)
        return finish
