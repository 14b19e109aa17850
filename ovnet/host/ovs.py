"""This host's Open vSwitch, reached over OVSDB with ovsdbapp: integration-bridge ports for ports
of the model, and the wait for ovn-controller's ``ovn-installed`` mark.

The marks on an Interface follow the OVN integration convention (ovn-architecture(7), "Life Cycle
of a VIF"): ``external_ids:iface-id`` = the logical port's name (the port id), ``attached-mac``;
ovnet adds ``ovnet:owned=true`` and ``ovnet:vif-kind`` (ovnet.host.attachment.KINDS) so that it
only ever removes its own ports.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

from ovs.db import idl as ovs_idl
from ovsdbapp.backend.ovs_idl import connection, idlutils
from ovsdbapp.schema.open_vswitch import impl_idl

OWNED = "ovnet:owned"
VIF_KIND = "ovnet:vif-kind"
INSTALLED = "ovn-installed"
TABLES = ("Open_vSwitch", "Bridge", "Port")
INTERFACE_COLUMNS = ["name", "type", "options", "external_ids", "ofport", "error", "mac", "mac_in_use"]


class OvsError(Exception):
    """The local OVSDB refused a change, or vswitchd could not open an interface."""


@dataclass(frozen=True)
class OwnedPort:
    """An integration-bridge port that ovnet made: OVS port/interface ``name``, the model's
    ``port_id`` (iface-id), VIF ``kind`` (veth, tap, internal), ``mac`` and whether
    ovn-controller has marked it ``installed``."""

    name: str
    port_id: str
    kind: str
    mac: str
    installed: bool


class _NotifyingIdl(connection.OvsdbIdl):
    """An IDL that tells the LocalOvs about every Interface row change (runs in ovsdbapp's thread)."""

    def __init__(self, remote: str, helper, on_change):
        super().__init__(remote, helper)
        self._on_change = on_change

    def notify(self, event, row, updates=None):
        if row._table.name == "Interface" and event != ovs_idl.ROW_DELETE:
            self._on_change(row)


class LocalOvs:
    """A connection to one host's ovsdb-server (``unix:<db_sock>``) and its integration ``bridge``.

    All methods block the calling thread only; the IDL runs in ovsdbapp's own thread. Raises
    OvsError when OVSDB rejects a transaction or vswitchd cannot use an interface.
    """

    def __init__(self, db_sock: Path | str, bridge: str = "br-int", timeout: float = 10.0):
        self.bridge = bridge
        remote = f"unix:{db_sock}"
        helper = idlutils.get_schema_helper(remote, "Open_vSwitch")
        for table in TABLES:
            helper.register_table(table)
        # Not Interface.statistics & co: vswitchd rewrites them every few seconds for every port.
        helper.register_columns("Interface", INTERFACE_COLUMNS)
        self._waiters: dict[str, threading.Event] = {}
        self._lock = threading.Lock()
        self._conn = connection.Connection(_NotifyingIdl(remote, helper, self._interface_changed), timeout=timeout)
        # ovsdbapp keeps the connection on the API class; a subclass per instance lets several
        # hosts' OVSDBs (tests, `ovnet host add`) live in one process.
        api_class = type("LocalOvsdbIdl", (impl_idl.OvsdbIdl,), {"_ovsdb_connection": None})
        self.api = api_class(self._conn, start=True)

    def close(self) -> None:
        """Stop ovsdbapp's connection thread."""
        self._conn.stop()

    # -- ovn-installed ------------------------------------------------------------------------
    def _interface_changed(self, row) -> None:
        ids = getattr(row, "external_ids", {}) or {}
        if ids.get(INSTALLED) == "true":
            with self._lock:
                event = self._waiters.get(ids.get("iface-id", ""))
            if event:
                event.set()

    def wait_installed(self, port_id: str, timeout: float) -> bool:
        """Block until ovn-controller marks the interface of ``port_id`` ``ovn-installed=true``;
        return False after ``timeout`` seconds. Woken by IDL row updates, never by polling."""
        event = threading.Event()
        with self._lock:
            self._waiters[port_id] = event
        try:
            # Registered before looking, so an update landing between the two is not missed.
            owned = self.port_by_id(port_id)
            if owned and owned.installed:
                return True
            return event.wait(timeout)
        finally:
            with self._lock:
                if self._waiters.get(port_id) is event:
                    del self._waiters[port_id]

    # -- ports --------------------------------------------------------------------------------
    def datapath_type(self) -> str:
        """The integration bridge's datapath type: ``"netdev"`` (userspace) or ``"system"``."""
        value = self.api.db_get("Bridge", self.bridge, "datapath_type").execute(check_error=True)
        return value or "system"

    def add_port(self, name: str, port_id: str, mac: str, kind: str, internal: bool = False) -> None:
        """Put interface ``name`` on the bridge with the OVN marks for ``port_id`` (MAC string).

        A stale OVS port of the same name is deleted in its own transaction first: vswitchd keeps
        a re-created kernel device of the same name dead until the port is removed and added again.
        ``internal`` makes OVS create the device itself (type internal, its MAC set to ``mac``).
        Raises OvsError when vswitchd cannot open the interface (ofport -1).
        """
        self.del_port(name)
        ids = {"iface-id": port_id, "attached-mac": mac, OWNED: "true", VIF_KIND: kind}
        attrs: dict = {"external_ids": ids}
        if internal:
            attrs.update(type="internal", mac=mac)
        with self.api.transaction(check_error=True) as txn:
            txn.add(self.api.add_port(self.bridge, name, may_exist=False, **attrs))
        ofport = self.api.db_get("Interface", name, "ofport").execute(check_error=True)
        error = self.api.db_get("Interface", name, "error").execute(check_error=True)
        if ofport in (None, [], -1):
            self.del_port(name)
            raise OvsError(f"ovs-vswitchd could not open interface {name}: {error or 'no ofport'}")

    def del_port(self, name: str) -> None:
        """Remove OVS port ``name`` from the bridge if it is there."""
        self.api.del_port(name, if_exists=True).execute(check_error=True)

    def owned_ports(self) -> list[OwnedPort]:
        """Every Interface that carries ``ovnet:owned=true``."""
        rows = self.api.db_find_rows("Interface", ("external_ids", "=", {OWNED: "true"})).execute(check_error=True)
        return [self._owned(r) for r in rows]

    def port_by_id(self, port_id: str) -> OwnedPort | None:
        """The owned interface whose ``iface-id`` is ``port_id``, or None."""
        rows = self.api.db_find_rows("Interface", ("external_ids", "=", {"iface-id": port_id})).execute(
            check_error=True)
        owned = [self._owned(r) for r in rows if r.external_ids.get(OWNED) == "true"]
        return owned[0] if owned else None

    def iface_ids(self) -> set[str]:
        """The ``iface-id`` of every Interface, ovnet's or not (libvirt plugs its taps itself)."""
        rows = self.api.db_list("Interface", columns=["external_ids"]).execute(check_error=True)
        return {r["external_ids"].get("iface-id") for r in rows} - {None}

    def port_names(self) -> set[str]:
        """Names of every port on the integration bridge."""
        return set(self.api.list_ports(self.bridge).execute(check_error=True))

    @staticmethod
    def _owned(row) -> OwnedPort:
        ids = row.external_ids
        return OwnedPort(name=row.name, port_id=ids.get("iface-id", ""), kind=ids.get(VIF_KIND, ""),
                         mac=ids.get("attached-mac", ""), installed=ids.get(INSTALLED) == "true")
