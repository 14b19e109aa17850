"""`ovnet backup FILE` / `ovnet restore FILE` (issue 15) as real commands, on SQLite and on
PostgreSQL, against a real NB: the copy is taken while another connection holds the store open
in a transaction, and a restore followed by its reconcile gives back the NB of the moment of the
copy, however the model and NB changed since."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from sqlalchemy import select

from ovnet.config import Settings
from ovnet.model.schema import Network, Port
from tests.helpers.outbox import network_with_port

pytestmark = [pytest.mark.ovn, pytest.mark.dialect]  # backup and restore use pg_dump on PostgreSQL


def ovnet(settings, url: str, *args):
    env = dict(os.environ, OVNET_SQL_URL=url)
    return subprocess.run([sys.executable, "-m", "ovnet.cli.main", *args, "--state-dir", str(settings.state_dir)],
                          capture_output=True, text=True, env=env, timeout=120)


def nb_view(nb_server) -> list[str]:
    """What NB holds for the model, as sorted lines (switch names, port names and addresses,
    DHCP cidrs, port groups)."""
    lines = []
    for table, columns in (("Logical_Switch", "name"), ("Logical_Switch_Port", "name,addresses"),
                           ("DHCP_Options", "cidr"), ("Port_Group", "name")):
        out = nb_server.nbctl("--bare", "--format=csv", "--no-headings", f"--columns={columns}", "list", table)
        lines += [f"{table}: {row}" for row in out.splitlines() if row]
    return sorted(lines)


def test_backup_then_restore_gives_back_the_model_and_its_nb(nb_server, store, tmp_path):
    settings = Settings(state_dir=tmp_path / "state", nb_port=nb_server.port)
    settings.save()
    net, _sub, port = network_with_port(store)
    assert ovnet(settings, store.url, "sync").returncode == 0
    at_backup = nb_view(nb_server)
    assert f"Logical_Switch_Port: {port.id},fa:16:3e:00:00:05 10.0.0.5" in at_backup

    with store.session() as busy:  # online: another connection is inside a transaction meanwhile
        busy.scalars(select(Network)).all()
        done = ovnet(settings, store.url, "backup", str(tmp_path / "copy"))
    assert done.returncode == 0, done.stderr

    with store.session() as session:  # the model moves on: the port goes, another network comes
        session.delete(session.get(Port, port.id))
    later_net, _sub, later_port = network_with_port(store, ip="10.0.0.9")
    assert ovnet(settings, store.url, "sync").returncode == 0
    assert nb_view(nb_server) != at_backup

    back = ovnet(settings, store.url, "restore", str(tmp_path / "copy"))
    assert back.returncode == 0, back.stderr
    assert "restored the model" in back.stdout and "repaired" in back.stdout
    # What was made after the copy is told (read from the copy itself, SQLite file or pg_dump archive).
    assert f"dropped network blue ({later_net.id})" in back.stdout and f"dropped port {later_port.id}" in back.stdout
    assert nb_view(nb_server) == at_backup
    with store.session() as session:
        assert [n.id for n in session.scalars(select(Network))] == [net.id]
        assert session.get(Port, port.id) is not None
    check = ovnet(settings, store.url, "sync", "--check")
    assert check.returncode == 0 and "NB is in sync" in check.stdout


def test_restore_refuses_a_file_that_is_no_backup_and_changes_nothing(nb_server, store, tmp_path):
    settings = Settings(state_dir=tmp_path / "state", nb_port=nb_server.port)
    settings.save()
    net, _sub, _port = network_with_port(store)
    junk = tmp_path / "junk"
    junk.write_bytes(b"not a backup at all")
    refused = ovnet(settings, store.url, "restore", str(junk))
    assert refused.returncode == 1 and "is not a" in refused.stderr
    with store.session() as session:
        assert [n.id for n in session.scalars(select(Network))] == [net.id]
