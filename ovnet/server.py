"""ovnet-server: the Neutron-compatible API with its store and the OVN syncer, in one process.

``python -m ovnet.server --state-dir D`` reads settings with ``load_settings(D)``, migrates the
store, makes sure the admin token exists (``<D>/admin-token`` and ``<D>/clouds.yaml``, both 0600),
starts the syncer and serves on ``listen_host:api_port`` until SIGTERM. It does not daemonize;
the runtime does that. ``--no-sync`` serves the API without OVN (model-only tests, benchmarks).
"""

from __future__ import annotations

import argparse
import gc
import logging
from pathlib import Path

import uvicorn

from ovnet.api.app import create_app
from ovnet.apiclient import CLOUD_NAME, cloud_entry, write_clouds_yaml, write_private
from ovnet.config import CLOUDS_FILE, Settings, load_settings
from ovnet.model.store import Store
from ovnet.model.tenancy import ADMIN_PROJECT, get_or_create_project, issue_token
from ovnet.ovn.metrics import NbConnectionCollector

KEEP_ALIVE_S = 75  # seconds an idle client connection stays open (see main)
# Objects allocated (less freed) between young-generation collections; CPython's default is 700.
GC_YOUNG_THRESHOLD = 100_000


def tune_gc() -> None:
    """Make the cyclic garbage collector cheap for a server that lists thousands of rows: move
    what start-up built (modules, the app's routes, the store) out of its reach (``gc.freeze``),
    and collect the young generation every GC_YOUNG_THRESHOLD allocations instead of 700.

    Listing 10,000 ports allocates some 150,000 containers that live until the answer is sent.
    With the defaults that ran ~260 young, ~24 middle and 2 full collections per listing, each
    full one walking the whole heap: half of the listing's CPU (330 of 650 ms, measured in one
    process). Frozen, with a young threshold of 10,000: ~16, ~2 and 0.15 (GC 65 ms a listing);
    of 100,000: ~0.9, 0.1 and none (GC 20 ms; the listing 250-290 ms instead of 325-335).
    Garbage without cycles is freed at once as before; cycles wait longer (at most some 100,000
    objects, a few tens of MB; one young collection of that size takes ~20 ms)."""
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(GC_YOUNG_THRESHOLD, middle, old)


def bootstrap_admin(store: Store, settings: Settings) -> str:
    """The admin token: the one in ``<state_dir>/admin-token`` (re-registered if the store lost it)
    or a new one; also (re)writes ``<state_dir>/clouds.yaml`` for cloud "ovnet". Returns the token."""
    path = settings.admin_token_file
    known = path.read_text().strip() if path.exists() else None

    def work(session) -> str:
        project = get_or_create_project(session, ADMIN_PROJECT)
        return issue_token(session, project.id, "admin", known)

    token = store.run(work)
    if token != known:
        write_private(path, token + "\n")
    write_clouds_yaml(settings.state_dir / CLOUDS_FILE, {CLOUD_NAME: cloud_entry(settings.api_url, token)})
    return token


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="ovnet-server", description=__doc__.splitlines()[0])
    parser.add_argument("--state-dir", type=Path, default=None)
    parser.add_argument("--no-sync", action="store_true", help="serve the API without the OVN syncer")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = load_settings(args.state_dir)
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    store = Store(settings.sql_url)
    store.migrate()
    bootstrap_admin(store, settings)
    syncer = None
    if not args.no_sync:
        from ovnet.ovn.syncer import Syncer

        syncer = Syncer(store, settings)
        syncer.start()
    collectors = [NbConnectionCollector(syncer.nb.connected)] if syncer else []
    app = create_app(store, settings, on_commit=syncer.flush if syncer else None, collectors=collectors,
                     nb_connected=syncer.nb.connected if syncer else None)
    tune_gc()
    try:
        # Idle connections are kept past httpx's 5 s pool expiry: with uvicorn's default, also 5 s,
        # a client reusing a connection just as the server drops it got "connection reset by
        # peer" (agents, whose reconcile runs every 5 s, at N = 20 in bench/scale.py).
        # uvloop and httptools: C event loop and HTTP parser instead of asyncio's and h11's
        # Python ones. One worker process: the syncer and its flush hook live in this process.
        uvicorn.run(app, host=settings.listen_host, port=settings.api_port, log_level="warning",
                    access_log=False, timeout_keep_alive=KEEP_ALIVE_S, loop="uvloop", http="httptools")
    finally:
        if syncer:
            syncer.stop()
        store.dispose()


if __name__ == "__main__":
    main()
