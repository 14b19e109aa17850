"""The store: migrations create exactly the declared schema; constraints hold in SQL itself."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.exc import IntegrityError

from ovnet.model.schema import Base, IPAllocation, Network, Port, Subnet

pytestmark = pytest.mark.dialect  # migrations and SQL constraints are per engine


def test_migrations_create_the_declared_schema(store):
    with store.engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []


def test_a_hosts_ports_are_found_by_index(tmp_path):
    """Every agent's converge and the Docker endpoint clean-up list one host's ports: SQLite's plan
    for that query searches ix_ports_binding_host_id (migration 0009) instead of scanning ports."""
    from sqlalchemy import select

    from ovnet.model.store import Store

    store = Store(f"sqlite:///{tmp_path / 'model.db'}")
    try:
        store.migrate()
        query = select(Port.id).where(Port.binding_host_id == "host-1")
        sql = str(query.compile(store.engine, compile_kwargs={"literal_binds": True}))
        with store.engine.connect() as conn:
            plan = " ".join(row[-1] for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}"))
    finally:
        store.dispose()
    assert "ix_ports_binding_host_id" in plan, plan


def _net_subnet_port(session):
    net = Network(project_id="p", mtu=1442, tags=[])
    session.add(net)
    session.flush()
    sub = Subnet(project_id="p", network_id=net.id, cidr="10.0.0.0/24", ip_version=4,
                 dns_nameservers=[], host_routes=[], tags=[])
    session.add(sub)
    session.flush()
    return net, sub


def test_unique_constraint_refuses_a_second_allocation_of_one_ip(store):
    with store.session() as s:
        net, sub = _net_subnet_port(s)
        for mac in ("fa:16:3e:00:00:01", "fa:16:3e:00:00:02"):
            s.add(Port(project_id="p", network_id=net.id, mac_address=mac, tags=[], binding_profile={},
                       allowed_address_pairs=[]))
        s.flush()
        ports = s.query(Port).all()
        s.add(IPAllocation(port_id=ports[0].id, subnet_id=sub.id, ip_address="10.0.0.5"))
        s.flush()
        s.add(IPAllocation(port_id=ports[1].id, subnet_id=sub.id, ip_address="10.0.0.5"))
        with pytest.raises(IntegrityError):
            s.flush()
        s.rollback()


def test_unique_constraint_refuses_a_mac_twice_in_one_network(store):
    with store.session() as s:
        net, _ = _net_subnet_port(s)
        for _ in range(2):
            s.add(Port(project_id="p", network_id=net.id, mac_address="fa:16:3e:00:00:01", tags=[],
                       binding_profile={}, allowed_address_pairs=[]))
        with pytest.raises(IntegrityError):
            s.flush()
        s.rollback()


def test_migration_0006_gives_existing_external_networks_their_everyone_grant(tmp_path):
    """Before 0006 router:external alone made a network external to all; after it, visibility
    follows access_as_external policies, so the migration writes the "*" one for each."""
    from alembic import command
    from alembic.config import Config
    from sqlalchemy import text

    from ovnet.model.store import MIGRATIONS, Store

    store = Store(f"sqlite:///{tmp_path / 'old.db'}")
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    try:
        with store.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "0004")
            for name, external in (("public", True), ("private", False)):
                conn.execute(text(
                    "INSERT INTO networks (id, project_id, name, description, revision_number, created_at, updated_at, "
                    "tags, admin_state_up, status, mtu, shared, port_security_enabled, router_external, "
                    "provider_network_type) VALUES (:id, 'p', :id, '', 1, '2026-01-01', '2026-01-01', '[]', 1, "
                    "'ACTIVE', 1442, 0, 1, :ext, 'geneve')"), {"id": name, "ext": external})
        store.migrate()
        with store.engine.connect() as conn:
            rows = conn.execute(text("SELECT object_id, action, target_project, project_id FROM rbac_policies")).all()
        assert [tuple(r) for r in rows] == [("public", "access_as_external", "*", "p")]
    finally:
        store.dispose()


def test_a_write_that_cannot_take_sqlites_lock_raises_sqlalchemys_error_and_is_retried(tmp_path, monkeypatch):
    """BEGIN IMMEDIATE runs on the driver's connection; when another process holds the write
    lock past the busy timeout, the error still comes as sqlalchemy's OperationalError, which
    Store.run retries (every attempt here), and then raises."""
    import sqlite3

    from sqlalchemy.exc import OperationalError

    from ovnet.model import store as store_module

    monkeypatch.setattr(store_module, "SQLITE_BUSY_TIMEOUT_MS", 50)
    monkeypatch.setattr(store_module, "RETRY_JITTER_S", 0.0)
    st = store_module.Store(f"sqlite:///{tmp_path / 'model.db'}")
    st.migrate()
    other = sqlite3.connect(tmp_path / "model.db", isolation_level=None)
    attempts = []
    try:
        other.execute("BEGIN IMMEDIATE")
        with pytest.raises(OperationalError, match="locked"):
            st.run(lambda s: attempts.append(s.connection()))
    finally:
        other.close()
        st.dispose()
    assert attempts == []  # the lock was never had, so the work never ran
