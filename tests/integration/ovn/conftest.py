"""Private OVN NB (and SB) ovsdb-servers for the NB client, syncer and SB tests: the runtime's own NB service
(real ovsdb-server, Debian's OVN schema) in a temporary state dir on a free loopback port."""

from __future__ import annotations

import subprocess

import pytest

from ovnet.config import Settings
from ovnet.ovn.nb import NbClient
from ovnet.ovn.syncer import Syncer
from ovnet.runtime.central import central_services
from ovnet.runtime.process import free_port


class NbServer:
    """NB on 127.0.0.1:<port>; ``stop()``/``start()`` keep the data (the DB file stays)."""

    def __init__(self, state_dir):
        self.settings = Settings(state_dir=state_dir, nb_port=free_port())
        self.service = next(s for s in central_services(self.settings) if s.name == "ovsdb-nb")
        self.port = self.settings.nb_port
        self.url = self.settings.nb_connection
        self.sock = self.settings.ovn_rundir / "ovnnb_db.sock"

    def start(self) -> None:
        self.service.start()

    def stop(self) -> None:
        self.service.stop()

    def nbctl(self, *args: str) -> str:
        """Run ovn-nbctl against this server (the way an operator edits NB by hand)."""
        done = subprocess.run(["ovn-nbctl", f"--db=unix:{self.sock}", "--no-leader-only", *args],
                              capture_output=True, text=True, check=True)
        return done.stdout.strip()


@pytest.fixture
def nb_server(tmp_path):
    """A running private NB ovsdb-server; always stopped at teardown."""
    server = NbServer(tmp_path / "nb")
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def sb_settings(tmp_path, nb_server):
    """A private SB ovsdb-server (ovnet's own start-up) beside ``nb_server``: Settings naming both;
    always stopped at teardown."""
    settings = Settings(state_dir=tmp_path / "state", nb_port=nb_server.port, sb_port=free_port())
    service = next(s for s in central_services(settings) if s.name == "ovsdb-sb")
    service.start()
    try:
        yield settings
    finally:
        service.stop()


@pytest.fixture
def sb_syncer(store, sb_settings):
    """A started Syncer on ``nb_server`` and ``sb_settings``' SB (its periodic reconcile 60 s away),
    stopped after the test."""
    running = Syncer(store, sb_settings)
    running.start()
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def client(nb_server):
    """An NbClient connected to ``nb_server``, stopped after the test."""
    nb = NbClient(nb_server.url)
    nb.start()
    assert nb.wait_connected(10)
    try:
        yield nb
    finally:
        nb.stop()
