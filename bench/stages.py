"""Where a port's ready time goes: when each port reaches each stage of its way from the API to
its chassis, as seen from NB and SB by a bench process watching both (issue 13's scale run).

A port (named by its id; ovnet names its Logical_Switch_Port so) passes, in order:

- ``nb``: its Logical_Switch_Port is in NB (the syncer applied the create);
- ``nb_req``: the LSP has ``options:requested-chassis`` (the syncer applied the bind's host);
- ``sb``: its Port_Binding is in SB (ovn-northd translated the LSP);
- ``sb_req``: the Port_Binding has ``requested_chassis`` (northd translated the bind);
- ``claim``: the Port_Binding has ``chassis`` (ovn-controller on the host claimed it);
- ``up``: the Port_Binding has ``up`` true (ovn-controller installed its flows, the moment it also
  writes ``ovn-installed`` into the local OVS).

Times are ``time.monotonic()`` of this process at the moment its IDL saw the change, so a stage
reads a little late when this process is starved; the lag is the same at every N.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

from ovs import poller
from ovs.db import idl

SCHEMAS = Path("/usr/share/ovn")
STAGES = ("nb", "nb_req", "sb", "sb_req", "claim", "up")


class _Idl(idl.Idl):
    """A python-ovs IDL that hands every row change to ``on_row`` (in the watcher's thread)."""

    def __init__(self, remote: str, helper: idl.SchemaHelper, on_row):
        # Followers serve reads as well as the leader: any member's view is a view of the cluster.
        super().__init__(remote, helper, leader_only=False)
        self._on_row = on_row

    def notify(self, event, row, updates=None):
        if event != idl.ROW_DELETE:
            self._on_row(row)


class StageWatch:
    """Watches NB at ``nb_remote`` and SB at ``sb_remote`` (OVSDB remote strings, comma-separated
    members allowed) and records, per port id, the first time each stage of STAGES was seen.

    ``start()`` connects and returns once both replicas are loaded; ``stop()`` ends the thread;
    ``times`` is {port id: {stage: monotonic seconds}}."""

    def __init__(self, nb_remote: str, sb_remote: str):
        nb = idl.SchemaHelper(location=str(SCHEMAS / "ovn-nb.ovsschema"))
        nb.register_columns("Logical_Switch_Port", ["name", "options"])
        sb = idl.SchemaHelper(location=str(SCHEMAS / "ovn-sb.ovsschema"))
        sb.register_columns("Chassis", ["name"])
        sb.register_columns("Port_Binding", ["logical_port", "chassis", "requested_chassis", "up"])
        self._idls = [_Idl(nb_remote, nb, self._nb_row), _Idl(sb_remote, sb, self._sb_row)]
        self.times: dict[str, dict[str, float]] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="stage-watch", daemon=True)

    def _mark(self, port: str, stage: str) -> None:
        self.times.setdefault(port, {}).setdefault(stage, time.monotonic())

    def _nb_row(self, row) -> None:
        if row._table.name == "Logical_Switch_Port":
            self._mark(row.name, "nb")
            if row.options.get("requested-chassis"):
                self._mark(row.name, "nb_req")

    def _sb_row(self, row) -> None:
        if row._table.name != "Port_Binding":
            return
        self._mark(row.logical_port, "sb")
        if row.requested_chassis:
            self._mark(row.logical_port, "sb_req")
        if row.chassis:
            self._mark(row.logical_port, "claim")
        if row.up and row.up[0]:
            self._mark(row.logical_port, "up")

    def start(self, timeout: float = 30.0) -> None:
        """Connect and wait until both replicas hold the databases' contents; RuntimeError after
        ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while not all(i.has_ever_connected() for i in self._idls):
            for i in self._idls:
                i.run()
            if time.monotonic() > deadline:
                raise RuntimeError("the stage watch could not read NB and SB")
            p = poller.Poller()
            for i in self._idls:
                i.wait(p)
            p.timer_wait(100)
            p.block()
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            for i in self._idls:
                i.run()
            p = poller.Poller()
            for i in self._idls:
                i.wait(p)
            p.timer_wait(200)
            p.block()

    def stop(self) -> None:
        """End the watch thread and close both connections."""
        self._stop.set()
        self._thread.join(timeout=5)
        for i in self._idls:
            i.close()
