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
TARGET = "ovnet:target"
INSTALLED = "ovn-installed"
TABLES = ("Open_vSwitch", "Bridge", "Port")
INTERFACE_COLUMNS = ["name", "type", "options", "external_ids", "ofport", "error", "mac", "mac_in_use"]


class OvsError(Exception):
    """The local OVSDB refused a change, or vswitchd could not open an interface."""


@dataclass(frozen=True)
class OwnedPort:
    """An integration-bridge port that ovnet made: OVS port/interface ``name``, the model's
    ``port_id`` (iface-id), VIF ``kind`` (veth, tap, internal), ``mac``, whether
    ovn-controller has marked it ``installed``, and the ``target`` it was plugged into
    ("<netns or device>/<ifname>"; "" when not recorded, e.g. re-added by the reconcile)."""

    name: str
    port_id: str
    kind: str
    mac: str
    installed: bool
    target: str = ""


class _NotifyingIdl(connection.OvsdbIdl):
    """An IDL that tells the LocalOvs about every Interface row change (runs in ovsdbapp's thread)."""

    def __init__(self, remote: str, helper, on_change):
        super().__init__(remote, helper)
        self._on_change = on_change

    def notify(self, event, row, updates=None):
        if row._table.name == "Interface" and event != ovs_idl.ROW_DELETE:
            self._on_change(row)


class _UnwaitedTransaction(impl_idl.OvsVsctlTransaction):
    """An Open_vSwitch transaction that neither bumps ``next_cfg`` nor waits for ovs-vswitchd to
    catch up with it (ovsdbapp's, like ovs-vsctl, does both, costing a whole bridge
    reconfiguration per transaction). For reads, which need neither, and for an add whose
    outcome ``wait_installed`` watches."""

    def pre_commit(self, txn):
        txn.expected_ifaces = set()  # the add-port command records its interfaces here

    def do_post_commit(self, txn):
        pass


class LocalOvs:
    """A connection to one host's ovsdb-server (``unix:<db_sock>``) and its integration ``bridge``.

    All methods block the calling thread only; the IDL runs in ovsdbapp's own thread. Raises
    OvsError when OVSDB rejects a transaction or vswitchd cannot use an interface.

    Reads run in an _UnwaitedTransaction against the IDL's cache (``_read``): the Open_vSwitch
    API's own transaction, like ovs-vsctl, bumps ``next_cfg`` and waits until ovs-vswitchd has
    reconfigured the whole bridge, which a read does not need and which cost a bind ~6 such
    waits. Writes keep that wait unless told otherwise (``add_port(wait=False)``).
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
        if ids.get(INSTALLED) == "true" or _unusable(row):
            with self._lock:
                event = self._waiters.get(ids.get("iface-id", ""))
            if event:
                event.set()

    def wait_installed(self, port_id: str, timeout: float) -> bool:
        """Block until ovn-controller marks the interface of ``port_id`` ``ovn-installed=true``;
        return False after ``timeout`` seconds. Woken by IDL row updates, never by polling.
        Raises OvsError as soon as ovs-vswitchd reports that it cannot open the interface
        (``ofport`` -1), which a port added with ``wait=False`` has not been checked for."""
        event = threading.Event()
        with self._lock:
            self._waiters[port_id] = event
        try:
            # Registered before looking, so an update landing between the two is not missed.
            while True:
                rows = self._read(self.api.db_find_rows("Interface", ("external_ids", "=", {"iface-id": port_id})))
                owned = [r for r in rows if r.external_ids.get(OWNED) == "true"]
                if any(r.external_ids.get(INSTALLED) == "true" for r in owned):
                    return True
                broken = [r for r in owned if _unusable(r)]
                if broken:
                    raise OvsError(f"ovs-vswitchd could not open interface {broken[0].name}: "
                                   f"{_first(broken[0].error) or 'ofport -1'}")
                if not event.wait(timeout):
                    return False
                event.clear()  # woken: look again (the row that woke us may be another of the port's)
        finally:
            with self._lock:
                if self._waiters.get(port_id) is event:
                    del self._waiters[port_id]

    def _unwaited(self, command):
        """Run ovsdbapp ``command`` in an _UnwaitedTransaction (in the IDL's thread); its result."""
        txn = _UnwaitedTransaction(self.api, self._conn, check_error=True)
        txn.add(command)
        txn.commit()
        return command.result

    _read = _unwaited  # a read-only command: answered from the IDL's cache

    # -- ports --------------------------------------------------------------------------------
    def datapath_type(self) -> str:
        """The integration bridge's datapath type: ``"netdev"`` (userspace) or ``"system"``."""
        value = self._read(self.api.db_get("Bridge", self.bridge, "datapath_type"))
        return value or "system"

    def add_port(self, name: str, port_id: str, mac: str, kind: str, internal: bool = False,
                 wait: bool = True, target: str = "") -> None:
        """Put interface ``name`` on the bridge with the OVN marks for ``port_id`` (MAC string).

        A stale OVS port of the same name is deleted in its own transaction first: vswitchd keeps
        a re-created kernel device of the same name dead until the port is removed and added again.
        ``internal`` makes OVS create the device itself (type internal, its MAC set to ``mac``).
        With ``wait`` it returns once ovs-vswitchd has taken the port and raises OvsError when it
        cannot open the interface (ofport -1); without, it returns when OVSDB has the row, and
        ``wait_installed`` reports that error instead (the attach path works on meanwhile).
        ``target`` ("<netns or device>/<ifname>") is recorded so a later attach can tell a repeat
        of the same plug from a request to plug elsewhere.
        """
        self.del_port(name)
        ids = {"iface-id": port_id, "attached-mac": mac, OWNED: "true", VIF_KIND: kind}
        if target:
            ids[TARGET] = target
        attrs: dict = {"external_ids": ids}
        if internal:
            attrs.update(type="internal", mac=mac)
        command = self.api.add_port(self.bridge, name, may_exist=False, **attrs)
        if not wait:
            self._unwaited(command)
            return
        with self.api.transaction(check_error=True) as txn:
            txn.add(command)
        ofport = self._read(self.api.db_get("Interface", name, "ofport"))
        error = self._read(self.api.db_get("Interface", name, "error"))
        if ofport in (None, [], -1):
            self.del_port(name)
            raise OvsError(f"ovs-vswitchd could not open interface {name}: {error or 'no ofport'}")

    def set_target(self, name: str, target: str) -> None:
        """Record ``target`` (as add_port's) on owned interface ``name``, whose workload end was
        moved there after the port was added (ovnet.host.vif.VethVif.unpark)."""
        self._unwaited(self.api.db_set("Interface", name, ("external_ids", {TARGET: target})))

    def del_port(self, name: str, wait: bool = True) -> None:
        """Remove OVS port ``name`` from the bridge if it is there; with ``wait`` return once
        ovs-vswitchd has reconfigured, without once OVSDB has dropped the row."""
        # Looked up first: a transaction, even one that deletes nothing, waits for vswitchd.
        if self._read(self.api.db_list("Port", [name], columns=["name"], if_exists=True)):
            command = self.api.del_port(name, if_exists=True)
            if wait:
                command.execute(check_error=True)
            else:
                self._unwaited(command)

    def owned_ports(self) -> list[OwnedPort]:
        """Every Interface that carries ``ovnet:owned=true``."""
        rows = self._read(self.api.db_find_rows("Interface", ("external_ids", "=", {OWNED: "true"})))
        return [self._owned(r) for r in rows]

    def port_by_id(self, port_id: str) -> OwnedPort | None:
        """The owned interface whose ``iface-id`` is ``port_id``, or None."""
        rows = self._read(self.api.db_find_rows("Interface", ("external_ids", "=", {"iface-id": port_id})))
        owned = [self._owned(r) for r in rows if r.external_ids.get(OWNED) == "true"]
        return owned[0] if owned else None

    def iface_ids(self) -> set[str]:
        """The ``iface-id`` of every Interface, ovnet's or not (libvirt plugs its taps itself)."""
        rows = self._read(self.api.db_list("Interface", columns=["external_ids"]))
        return {r["external_ids"].get("iface-id") for r in rows} - {None}

    def port_names(self) -> set[str]:
        """Names of every port on the integration bridge."""
        return set(self._read(self.api.list_ports(self.bridge)))

    @staticmethod
    def _owned(row) -> OwnedPort:
        ids = row.external_ids
        return OwnedPort(name=row.name, port_id=ids.get("iface-id", ""), kind=ids.get(VIF_KIND, ""),
                         mac=ids.get("attached-mac", ""), installed=ids.get(INSTALLED) == "true",
                         target=ids.get(TARGET, ""))


def _first(value):
    """The value of an optional (0..1) OVSDB column as python-ovs gives it (a list), or None."""
    return value[0] if isinstance(value, list) and value else (value or None)


def _unusable(row) -> bool:
    """True when ovs-vswitchd has marked Interface ``row`` as one it cannot open (ofport -1)."""
    return _first(getattr(row, "ofport", None)) == -1
