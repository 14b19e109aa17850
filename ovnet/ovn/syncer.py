"""The syncer: converges OVN NB to the model (DESIGN.md principle 2) and feeds port status back.

Three threads, one job each:
- the worker applies outbox entries in batches (one NB transaction per batch, then marks them
  done), runs a full reconcile at start-up, after every NB reconnect and every
  ``settings.sync_interval`` seconds, and answers ``flush``;
- ovsdbapp's connection thread keeps the NB replica and reports ``Logical_Switch_Port.up``;
- the status thread writes those reports into the model in batches.

With several ovnet-server processes on one PostgreSQL store only the holder of the writer role
(ovnet.ovn.writer) applies the outbox and reconciles; the others' workers wait to take it over.

Crash safety comes from ordering: the outbox row is committed with the change, NB is written, and
only then is the outbox row removed; a crash anywhere in between leaves the row for the next run.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy.orm import Session

from ovnet.config import Settings
from ovnet.model import registry as model_registry
from ovnet.model import syncer_io
from ovnet.model.schema import port_status
from ovnet.model.store import Store
from ovnet.ovn import gcpause, metrics, registry, routing
from ovnet.ovn.diff import plan
from ovnet.ovn.nb import NB_SCHEMA, NbClient, NbUnavailable
from ovnet.ovn.nbread import NbView, read_nb
from ovnet.ovn.registry import desired_rows
from ovnet.ovn.sb import ChassisWatcher
from ovnet.ovn.translate import LSP
from ovnet.ovn.writer import WriterRole, wait_applied

LOG = logging.getLogger(__name__)
OUTBOX_BATCH = 1000  # entries per NB transaction
OUTBOX_POLL = 1.0  # seconds; picks up changes committed by another API server process
RETRY_DELAY = 0.5  # seconds after a failed NB write
CONNECT_TIMEOUT = 10.0  # seconds drift()/repair() wait for NB
# The kinds a snapshot holds: those with NB rows and what they refer to (translations read it).
SYNCED = model_registry.with_dependencies(registry.KINDS)


class Syncer:
    """Keeps OVN NB (``settings.nb_connection``) equal to the model in ``store``.

    ``start()``/``stop()`` run the threads; ``flush(timeout)`` waits until every change committed
    before the call is in NB; ``drift()``/``repair()`` compare/converge everything on demand and
    work without ``start()`` (the CLI uses them so).
    """

    def __init__(self, store: Store, settings: Settings):
        self.store = store
        self.settings = settings
        # A (re)loaded replica wakes the worker: its reconcile and the flushes waiting on the
        # outbox need not wait for the next OUTBOX_POLL.
        self._wake = threading.Event()
        self.nb = NbClient(settings.nb_connection, on_port_up=self._on_port_up, on_connected=self._wake.set)
        # Gateway chassis come from SB; a chassis joining or leaving asks for a reconcile.
        self.sb = ChassisWatcher(settings.sb_connection, on_change=self._chassis_changed)
        self._reconcile_soon = threading.Event()
        self.role = WriterRole(store)
        self._cond = threading.Condition()
        self._requested = 0
        self._served = 0
        self._stopping = threading.Event()
        self._status: queue.Queue[tuple[str, bool] | None] = queue.Queue()
        self._threads: list[threading.Thread] = []

    # -- lifecycle -------------------------------------------------------------------------------
    def start(self) -> None:
        """Connect to NB and SB (without waiting for them) and start the worker and status threads."""
        self.nb.start()
        self.sb.start()
        for name, target in (("ovnet-sync", self._work), ("ovnet-port-status", self._write_status)):
            thread = threading.Thread(target=target, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        """Stop the threads and close NB; pending outbox entries stay for the next start."""
        self._stopping.set()
        self._wake.set()
        self._status.put(None)
        for thread in self._threads:
            thread.join(timeout=10)
        self._threads.clear()
        self.role.release()
        self.nb.stop()
        self.sb.stop()

    # -- API hook --------------------------------------------------------------------------------
    def flush(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds until every outbox entry committed before this call is
        applied to NB. True when it is, False when it is still pending (NB down or slow).
        ``create_app(on_commit=syncer.flush)`` uses it so a client sees NB rows after its write.
        A process without the writer role waits for the writer to empty the outbox instead."""
        if not self.role.held:
            return wait_applied(self.store, timeout)
        with self._cond:
            self._requested += 1
            ticket = self._requested
        self._wake.set()
        with self._cond:
            return self._cond.wait_for(lambda: self._served >= ticket, timeout)

    # -- on demand -------------------------------------------------------------------------------
    def drift(self, nb: NbView | None = None) -> list[str]:
        """Differences between NB and the model, one line each ([] when in sync).

        Covers missing, stale and owned-but-unwanted NB rows, names NB would refuse, and port
        statuses that disagree with ``Logical_Switch_Port.up``. NB is ``nb`` when given (a view
        of ``read_nb``, which ``ovnet check`` also reads port status from), else read here: one
        transaction, no replica, so a new process (``ovnet sync --check``) pays no IDL. Raises
        NbUnavailable if NB cannot be read within 10 s (said once the model is read too).
        """
        # NB is read in a thread while this one reads the model: ovsdb-server builds and sends its
        # answer (7 MB for 10,000 ports) on another core meanwhile, instead of before the model
        # read starts. The collector is paused for the whole build (ovnet.ovn.gcpause).
        with gcpause.paused(), ThreadPoolExecutor(1, thread_name_prefix="ovnet-nb-read") as pool:
            reading = pool.submit(self.read_nb) if nb is None else None
            self.sb.start()  # gateway chassis, when the model has routers (_facts_for)
            with self.store.session(readonly=True) as session:
                snap = syncer_io.snapshot(session, SYNCED)
            desired = desired_rows(snap, facts=self._facts_for(snap))
            view = nb if reading is None else reading.result()
            lines = [str(c) for c in plan(desired, view.owned, None, view.taken)]
            return lines + [
                f"port {pid}: status is {have}, Logical_Switch_Port.up says {want}"
                for pid, have, want in _status_drift(snap, desired, view.up)
            ]

    def read_nb(self) -> NbView:
        """NB's owned rows and port states, read once (``ovnet.ovn.nbread``). Raises NbUnavailable."""
        return read_nb(self.settings.nb_connection, NB_SCHEMA, CONNECT_TIMEOUT)

    def repair(self) -> list[str]:
        """Converge NB to the whole model in one transaction, fix port statuses, and mark the
        outbox entries seen with that model snapshot as done. Returns what it changed, as
        ``drift()`` would have shown it. Raises NbUnavailable if NB is not reachable in 10 s."""
        self._connect()
        started = time.monotonic()
        with self.store.session(readonly=True) as session:
            entries = syncer_io.outbox_pending(session, limit=OUTBOX_BATCH)
            snap = syncer_io.snapshot(session, SYNCED)
        desired = desired_rows(snap, facts=self._facts_for(snap))
        made = self.nb.converge(desired)
        changes = [str(c) for c in made]
        statuses = _status_drift(snap, desired, self.nb.port_up())
        with self.store.session() as session:
            for pid, _have, want in statuses:
                syncer_io.set_port_status(session, pid, want)
            syncer_io.outbox_done(session, [e.id for e in entries])
        metrics.RECONCILE_SECONDS.observe(time.monotonic() - started)
        metrics.count_repairs(made)
        metrics.RECONCILE_REPAIRS.labels("port_status", "ports").inc(len(statuses))
        return changes + [f"port {pid}: status {have} -> {want}" for pid, have, want in statuses]

    def _connect(self) -> None:
        self.nb.start()
        self.sb.start()
        if not self.nb.wait_connected(CONNECT_TIMEOUT):
            raise NbUnavailable(f"OVN NB at {self.settings.nb_connection} is not reachable")

    def _facts_for(self, snap: dict) -> dict[str, list[dict]] | None:
        """What translations of ``snap`` read beyond the model: {"chassis": [...]} from OVN SB and
        {"settings": [{"id": routing.DISTRIBUTED_FIP, "enabled": bool}]}, or None when
        ``snap`` holds no router (only router rows read chassis, so switches and ports converge
        while SB is away). Raises NbUnavailable while SB has never been read, since an empty
        chassis list would strip every gateway's chassis."""
        if not snap.get("routers"):
            return None
        if not self.sb.wait_synced(CONNECT_TIMEOUT):
            raise NbUnavailable(f"OVN SB at {self.settings.sb_connection} is not reachable (gateway chassis)")
        return {"chassis": self.sb.chassis(), "settings": [
            {"id": routing.DISTRIBUTED_FIP, "enabled": self.settings.enable_distributed_floating_ip}]}

    def _chassis_changed(self) -> None:
        self._reconcile_soon.set()
        self._wake.set()

    # -- worker ----------------------------------------------------------------------------------
    def _work(self) -> None:
        next_reconcile = 0.0
        # The NB epoch last reconciled: a reconnect (a new epoch) is reconciled even when it was
        # too quick for this loop to see NB disconnected. None: reconcile at the next chance.
        reconciled: int | None = None
        while not self._stopping.is_set():
            self._wake.wait(OUTBOX_POLL)
            self._wake.clear()
            if self._stopping.is_set():
                return
            if not self._is_writer():
                reconciled = None  # so that taking the role over starts with a reconcile
                continue
            if not self.nb.connected():
                if reconciled is not None:
                    LOG.warning("OVN NB %s unreachable; changes wait in the outbox", self.settings.nb_connection)
                reconciled = None
                continue
            try:
                epoch = self.nb.epoch  # read before the repair: a reconnect during it repairs again
                if epoch != reconciled or time.monotonic() >= next_reconcile or self._reconcile_soon.is_set():
                    self._reconcile_soon.clear()
                    if epoch != reconciled:
                        LOG.info("OVN NB %s connected; reconciling", self.settings.nb_connection)
                    repaired = self.repair()
                    if repaired:
                        LOG.warning("reconcile repaired %d difference(s), first: %s", len(repaired),
                                    "; ".join(repaired[:5]))
                    next_reconcile = time.monotonic() + self.settings.sync_interval
                    reconciled = epoch
                self._drain()
            except Exception:  # noqa: BLE001 - the outbox keeps the work; log and retry
                LOG.exception("NB sync failed; retrying in %.1f s", RETRY_DELAY)
                self._stopping.wait(RETRY_DELAY)
                self._wake.set()

    def _is_writer(self) -> bool:
        before = self.role.held
        now = self.role.try_take()
        if now != before and self.role.shared:
            LOG.info("this server %s the syncer writer role", "took" if now else "lost")
        return now

    def _drain(self) -> None:
        # Applies full batches until one is short, i.e. held every entry pending when it was
        # read: then every flush requested before that read is answered. Returning there (not at
        # an empty outbox) keeps a steady stream of writes from starving flush and the reconcile.
        while not self._stopping.is_set():
            with self._cond:
                ticket = self._requested
            with self.store.session(readonly=True) as session:
                entries = syncer_io.outbox_pending(session, limit=OUTBOX_BATCH)
                snap = _snapshot_for(session, entries) if entries else {}
            if entries:
                scope = model_registry.related_ids(snap, {e.resource_id for e in entries})
                with metrics.NB_APPLY_SECONDS.time():
                    self.nb.converge(desired_rows(snap, scope, self._facts_for(snap)), scope)
                metrics.NB_APPLY_BATCH.observe(len(entries))
                with self.store.session() as session:
                    syncer_io.outbox_done(session, [e.id for e in entries])
            if len(entries) < OUTBOX_BATCH:
                with self._cond:
                    self._served = max(self._served, ticket)
                    self._cond.notify_all()
                return

    # -- port status -----------------------------------------------------------------------------
    def _on_port_up(self, port_id: str, up: bool) -> None:
        self._status.put((port_id, up))

    def _write_status(self) -> None:
        while True:
            item = self._status.get()
            batch: dict[str, bool] = {}
            while item is not None:
                batch[item[0]] = item[1]
                try:
                    item = self._status.get_nowait()
                except queue.Empty:
                    break
            if batch:
                try:
                    with self.store.session() as session:
                        for pid, up in batch.items():
                            syncer_io.set_port_status(session, pid, "ACTIVE" if up else "DOWN")
                except Exception:  # noqa: BLE001 - the next reconcile corrects statuses
                    LOG.exception("could not record port status for %d port(s)", len(batch))
            if item is None:
                return


def _status_drift(snap: dict, desired: dict, up: dict[str, bool]) -> list[tuple[str, str, str]]:
    # (port id, status shown, status ``up`` makes it show) for each synced port that differs. An
    # administratively down port shows DOWN whatever OVN says (schema.port_status): not a drift.
    out = []
    for port in snap["ports"]:
        if port["id"] in desired[LSP]:
            want = port_status(port["admin_state_up"], "ACTIVE" if up.get(port["id"]) else "DOWN")
            if port.get("status") != want:
                out.append((port["id"], port.get("status"), want))
    return out


def _snapshot_for(session: Session, entries: list[syncer_io.OutboxEntry]) -> dict:
    # A change of a kind others follow (a network, a subnet) may concern every object following
    # it, so it reads the whole model. Other changes (nearly all: ports) need only the changed
    # objects and what they refer to.
    if any(model_registry.followed(e.resource_type) or model_registry.KINDS[e.resource_type].reads_whole_model
           for e in entries):
        return syncer_io.snapshot(session, SYNCED)
    # Each kind's rows are read by the ids of that kind only, not every kind by every id (a batch
    # of 1,000 ports bound its 1,000 ids into the query of each synced kind).
    by_kind: dict[str, set[str]] = {}
    for entry in entries:
        by_kind.setdefault(entry.resource_type, set()).add(entry.resource_id)
    changed = syncer_io.snapshot(session, SYNCED, ids=by_kind)
    around = syncer_io.snapshot(session, SYNCED, ids=model_registry.referenced_by_kind(changed))
    # What a change refers to is re-derived with it (it must exist); a kind whose translation
    # reads the whole model (a router) must not be derived from this partial read.
    if any(around.get(kind.plural) for kind in model_registry.KINDS.values() if kind.reads_whole_model):
        return syncer_io.snapshot(session, SYNCED)
    return {plural: list({i["id"]: i for i in changed[plural] + around[plural]}.values()) for plural in changed}
