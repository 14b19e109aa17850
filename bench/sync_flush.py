"""Cost of confirming a port in NB (``Syncer.flush``) with many ports present.

Fills a SQLite model with ``--ports`` ports, syncs them to a private NB ovsdb-server (the runtime's
NB service on a free port), then creates ``--creates`` more ports one at a time, each committed
with its outbox row as the model does. Baseline: the commit alone; then commit + flush (the API's
"answer after NB confirmed"); then 8 threads doing commit + flush at once (batched by the syncer).

    .venv/bin/python bench/sync_flush.py [--ports 10000] [--creates 200]
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
from pathlib import Path

from ovnet.config import Settings
from ovnet.model.common import record_change
from ovnet.model.schema import IPAllocation, Network, Port, Subnet
from ovnet.model.store import Store
from ovnet.ovn.syncer import Syncer
from ovnet.runtime.central import central_services
from ovnet.runtime.process import free_port


class Model:
    def __init__(self, store: Store):
        self.store = store
        self.count = 0
        self.lock = threading.Lock()
        with store.session() as session:
            self.net = Network(project_id="p", name="bench", mtu=1442)
            session.add(self.net)
            session.flush()
            self.sub = Subnet(project_id="p", network_id=self.net.id, cidr="10.0.0.0/16", ip_version=4,
                              gateway_ip="10.0.0.1")
            session.add(self.sub)
            session.flush()
            record_change(session, self.net)
            record_change(session, self.sub)

    def ports(self, n: int) -> None:
        with self.store.session() as session:
            for _ in range(n):
                port = self._port()
                session.add(port)
                session.flush()
                record_change(session, port)

    def _port(self) -> Port:
        with self.lock:
            i = self.count = self.count + 1
        return Port(project_id="p", network_id=self.net.id,
                    mac_address=f"fa:16:3e:00:{i >> 8 & 255:02x}:{i & 255:02x}",
                    fixed_ips=[IPAllocation(subnet_id=self.sub.id, ip_address=f"10.0.{(i + 2) >> 8}.{(i + 2) & 255}")])


def timed(fn, n: int, threads: int = 1) -> float:
    per = n // threads
    started = time.perf_counter()
    workers = [threading.Thread(target=lambda: [fn() for _ in range(per)]) for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return per * threads / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ports", type=int, default=10000)
    parser.add_argument("--creates", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ovnet-bench-") as tmp:
        settings = Settings(state_dir=Path(tmp), nb_port=free_port(), sync_interval=3600)
        nb_service = next(s for s in central_services(settings) if s.name == "ovsdb-nb")
        nb_service.start()
        store = Store(f"sqlite:///{tmp}/model.db")
        store.migrate()
        syncer = Syncer(store, settings)
        try:
            model = Model(store)
            model.ports(args.ports)
            syncer.start()
            started = time.perf_counter()
            assert syncer.flush(600), "initial sync did not finish"
            initial = time.perf_counter() - started
            base = timed(lambda: model.ports(1), args.creates)

            def confirmed() -> None:
                model.ports(1)
                assert syncer.flush(30)

            one = timed(confirmed, args.creates)
            eight = timed(confirmed, args.creates, threads=8)
            assert syncer.drift() == []
        finally:
            syncer.stop()
            store.dispose()
            nb_service.stop()
    print(f"initial sync of {args.ports} ports: {initial:.1f} s ({args.ports / initial:.0f} ports/s)")
    print(f"{'case':<44} {'creates/s':>10} {'x baseline':>11}")
    for name, rate in (("commit only (baseline)", base), ("commit + NB confirmed, 1 client", one),
                       ("commit + NB confirmed, 8 clients", eight)):
        print(f"{name:<44} {rate:>10.1f} {rate / base:>11.2f}")


if __name__ == "__main__":
    main()
