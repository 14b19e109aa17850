"""`ovnet sync [--check]` as a real command against a real NB and the state dir's SQLite store."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from ovnet.config import Settings
from ovnet.model.store import Store

from tests.helpers.outbox import network_with_port

pytestmark = pytest.mark.ovn


def ovnet(settings, *args):
    env = dict(os.environ, OVNET_SQL_URL=settings.sql_url)
    return subprocess.run([sys.executable, "-m", "ovnet.cli.main", *args, "--state-dir", str(settings.state_dir)],
                          capture_output=True, text=True, env=env, timeout=60)


def test_check_reports_drift_sync_repairs_it(nb_server, tmp_path, monkeypatch):
    monkeypatch.delenv("OVNET_SQL_URL", raising=False)
    settings = Settings(state_dir=tmp_path / "state", nb_port=nb_server.port)
    settings.save()
    store = Store(settings.sql_url)
    store.migrate()
    net, sub, port = network_with_port(store)
    store.dispose()
    nb_server.nbctl("ls-add", "not-ours")

    check = ovnet(settings, "sync", "--check")
    assert check.returncode == 1, check.stderr
    assert f"Logical_Switch_Port {port.id}: missing in NB" in check.stdout
    assert "6 difference(s)" in check.stdout  # switch, DHCP, port, and port security's group and 2 ACLs

    fix = ovnet(settings, "sync")
    assert fix.returncode == 0, fix.stderr
    assert "repaired 6 difference(s)" in fix.stdout
    assert nb_server.nbctl("lsp-get-addresses", port.id) == "fa:16:3e:00:00:05 10.0.0.5"

    again = ovnet(settings, "sync", "--check")
    assert again.returncode == 0 and "NB is in sync" in again.stdout
    assert "not-ours" in nb_server.nbctl("ls-list")


def test_check_with_nb_down_is_a_clear_error(nb_server, tmp_path, monkeypatch):
    monkeypatch.delenv("OVNET_SQL_URL", raising=False)
    settings = Settings(state_dir=tmp_path / "state", nb_port=nb_server.port)
    settings.save()
    Store(settings.sql_url).migrate()
    nb_server.stop()
    check = ovnet(settings, "sync", "--check")
    assert check.returncode == 2
    assert "not reachable" in check.stderr
