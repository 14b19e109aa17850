"""`ovnet restore FILE` tells what exists now and is absent from FILE before replacing the model,
refuses (exit 2, nothing changed) when a bound port would go unless `--yes`, and leaves the backup
file's directory as it was (no `-wal`/`-shm` beside it). A real SQLite store; `--no-sync`."""

from __future__ import annotations

from sqlalchemy import select

from ovnet.model.schema import Network, Port
from ovnet.model.store import Store
from tests.helpers.outbox import network_with_port


def _later_port(store: Store, host: str) -> Port:
    """A network with a port made after the backup, bound to ``host`` ("" for unbound)."""
    _net, _sub, port = network_with_port(store, ip="10.0.0.9")
    with store.session() as session:
        row = session.get(Port, port.id)
        row.name, row.binding_host_id = "late-web", host
    return port


def _backup(cli, tmp_path):
    backups = tmp_path / "backups"
    backups.mkdir()
    assert cli("backup", str(backups / "copy.db")).exit_code == 0
    return backups / "copy.db"


def test_restore_refuses_to_drop_a_bound_port_without_yes(cli, tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'model.db'}")
    copy = _backup(cli, tmp_path)
    port = _later_port(store, host="hv2")

    refused = cli("restore", "--no-sync", str(copy))
    assert refused.exit_code == 2, refused.output
    assert f"would drop port late-web ({port.id}) bound to hv2" in refused.stderr
    assert "would drop network blue" in refused.stderr
    assert refused.stderr.strip().splitlines()[-1].startswith("error: 1 bound port(s)")
    assert "Traceback" not in refused.output
    with store.session() as session:  # nothing changed
        assert session.get(Port, port.id).binding_host_id == "hv2"

    done = cli("restore", "--no-sync", "--yes", str(copy))
    assert done.exit_code == 0, done.output
    assert f"dropped port late-web ({port.id}) bound to hv2" in done.stdout
    with store.session() as session:
        assert session.get(Port, port.id) is None and session.scalars(select(Network)).all() == []
    assert sorted(p.name for p in copy.parent.iterdir()) == ["copy.db"]
    store.dispose()


def test_restore_tells_what_it_drops_and_goes_on_when_no_port_is_bound(cli, tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'model.db'}")
    copy = _backup(cli, tmp_path)
    port = _later_port(store, host="")
    done = cli("restore", "--no-sync", str(copy))
    assert done.exit_code == 0, done.output
    assert f"dropped port late-web ({port.id})\n" in done.stdout
    assert "(3 row(s) made since it dropped)" in done.stdout  # network, subnet, port
    with store.session() as session:
        assert session.get(Port, port.id) is None
    assert sorted(p.name for p in copy.parent.iterdir()) == ["copy.db"]
    store.dispose()


def test_restore_of_the_same_model_drops_nothing(cli, tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'model.db'}")
    _later_port(store, host="hv1")
    copy = _backup(cli, tmp_path)
    done = cli("restore", "--no-sync", str(copy))
    assert done.exit_code == 0, done.output
    assert "dropped" not in done.stdout and "restored the model" in done.stdout
    store.dispose()
