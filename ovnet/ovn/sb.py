"""The chassis OVN SB knows and the physical networks each maps (read only).

Gateway router ports need ``Gateway_Chassis`` rows naming every chassis that has the external
network's physical network; that set lives in SB (``Chassis.other_config:ovn-bridge-mappings``,
written by each ovn-controller from its OVS ``external_ids:ovn-bridge-mappings``), not in the
model. This client replicates the Chassis table only, reconnects on its own and calls
``on_change`` whenever the set of (chassis, physical networks) changes, so a chassis joining or
leaving reaches the gateway chassis without waiting for the periodic reconcile.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable

from ovs import poller
from ovs.db import idl as ovs_idl

LOG = logging.getLogger(__name__)
SB_SCHEMA = "/usr/share/ovn/ovn-sb.ovsschema"  # Debian's ovn-common; same OVN as the SB server
MAPPINGS = "ovn-bridge-mappings"
POLL_MS = 1000  # the replica loop wakes at least this often to notice stop()


def physical_networks(mappings: str) -> list[str]:
    """The physical network names of an ``ovn-bridge-mappings`` value ("public:br-ex,phys2:br-2"),
    sorted; malformed entries (no colon) are skipped."""
    names = {entry.split(":", 1)[0].strip() for entry in mappings.split(",") if ":" in entry}
    return sorted(n for n in names if n)


class ChassisWatcher:
    """Replica of SB's Chassis table at ``remote`` (e.g. ``tcp:127.0.0.1:6642``).

    ``chassis()`` -> [{"id": chassis name, "physical_networks": [name, ...]}] sorted by name (the
    shape ``ovnet.ovn.routing`` reads from the snapshot). ``on_change()`` runs in this client's
    thread after the replica changed what ``chassis()`` returns.
    """

    def __init__(self, remote: str, on_change: Callable[[], None] | None = None):
        helper = ovs_idl.SchemaHelper(location=SB_SCHEMA)
        helper.register_columns("Chassis", ["name", "other_config", "external_ids"])
        self._idl = ovs_idl.Idl(remote, helper)
        self._on_change = on_change
        self._lock = threading.Lock()
        self._view: list[dict] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        # stop() writes to this pipe so the thread's poll returns at once.
        self._wake_r, self._wake_w = os.pipe()

    def start(self) -> None:
        """Start the replica thread (returns at once; SB may be down)."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="ovnet-sb-chassis", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """Stop the thread and close the connection."""
        self._stop.set()
        _poke(self._wake_w)
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._idl.close()

    def chassis(self) -> list[dict]:
        """The chassis as last replicated ([] before the first connection)."""
        with self._lock:
            return [dict(c) for c in self._view]

    def synced(self) -> bool:
        """True once the replica has held SB's contents (it keeps the last view while SB is away)."""
        return self._idl.has_ever_connected()

    def wait_synced(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for ``synced()``; return it."""
        deadline = time.monotonic() + timeout
        while not self.synced() and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.synced()

    def _read(self) -> list[dict]:
        out = []
        for row in self._idl.tables["Chassis"].rows.values():
            mappings = row.other_config.get(MAPPINGS) or row.external_ids.get(MAPPINGS) or ""
            out.append({"id": row.name, "physical_networks": physical_networks(mappings)})
        return sorted(out, key=lambda c: c["id"])

    def _run(self) -> None:
        seqno = None
        while not self._stop.is_set():
            self._idl.run()
            if self._idl.change_seqno != seqno:
                seqno = self._idl.change_seqno
                view = self._read()
                with self._lock:
                    changed, self._view = view != self._view, view
                if changed and self._on_change is not None:
                    try:
                        self._on_change()
                    except Exception:  # noqa: BLE001 - a callback's failure must not stop the replica
                        LOG.exception("chassis change callback failed")
            wait = poller.Poller()
            self._idl.wait(wait)
            wait.fd_wait(self._wake_r, poller.POLLIN)
            wait.timer_wait(POLL_MS)
            wait.block()


def _poke(fd: int) -> None:
    try:
        os.write(fd, b"x")
    except OSError:
        pass


class SbUnavailable(Exception):
    """OVN SB could not be read within the time given."""


def port_bindings(remote: str, timeout: float) -> dict[str, str]:
    """One read of SB's Port_Binding table at ``remote``: {logical port name: name of the chassis
    that claimed it, "" when none has}. For ovnet's ports the logical port name is the port id.
    Raises SbUnavailable when SB's contents were not received within ``timeout`` seconds."""
    helper = ovs_idl.SchemaHelper(location=SB_SCHEMA)
    helper.register_columns("Port_Binding", ["logical_port", "chassis"])
    helper.register_columns("Chassis", ["name"])
    idl = ovs_idl.Idl(remote, helper)
    deadline = time.monotonic() + timeout
    try:
        while not idl.has_ever_connected():  # True once the monitor's first reply is in the replica
            if time.monotonic() > deadline:
                raise SbUnavailable(f"OVN SB at {remote} is not reachable")
            idl.run()
            wait = poller.Poller()
            idl.wait(wait)
            wait.timer_wait(100)
            wait.block()
        return {row.logical_port: (row.chassis[0].name if row.chassis else "")
                for row in idl.tables["Port_Binding"].rows.values()}
    finally:
        idl.close()
