"""Fixtures of every tier: a whole ovnet all-in-one in a temporary state dir (torn down even on
failure), its admin API and agent clients, workload namespaces, and the model store on SQLite and
on a private PostgreSQL. Plain helpers live in tests/helpers."""

from __future__ import annotations

import secrets

import pytest
from pyroute2 import netns

from ovnet.apiclient import ApiClient
from ovnet.host.agentclient import AgentClient
from ovnet.model.store import Store
from ovnet.runtime import allinone as aio
from tests.helpers.allinone import private_settings
from tests.helpers.hostnet import ns_run
from tests.helpers.pg import fresh_database_url, postgres_server  # noqa: F401 - fixture
from tests.helpers.stores import MigratedSchema, SqliteTemplate


@pytest.fixture
def allinone_settings(tmp_path):
    """Settings of a private all-in-one that is NOT started; down(purge) runs at teardown anyway."""
    settings = private_settings(tmp_path)
    yield settings
    aio.down(settings, purge=True)


@pytest.fixture
def allinone(allinone_settings):
    """A running private all-in-one (OVN central, one chassis, ovnet services); yields its Settings."""
    aio.up(allinone_settings)
    return allinone_settings


@pytest.fixture
def api(allinone):
    """An admin ApiClient of the all-in-one's API."""
    with ApiClient.from_settings(allinone) as client:
        yield client


@pytest.fixture
def agent(allinone):
    """An AgentClient of the all-in-one's agent (admin caller)."""
    with AgentClient(allinone.agent_socket) as client:
        yield client


@pytest.fixture
def make_netns():
    """Factory for workload network namespaces (``lo`` up); all are removed at teardown."""
    made: list[str] = []

    def make(prefix: str = "ovw") -> str:
        name = f"{prefix}-{secrets.token_hex(4)}"
        netns.create(name)
        made.append(name)
        ns_run(name, "ip", "link", "set", "lo", "up")
        return name

    yield make
    for name in made:
        if name in netns.listnetns():
            netns.remove(name)


def pytest_generate_tests(metafunc):
    """Run a test that uses ``sql_url`` or ``store`` on SQLite, and also on the private PostgreSQL
    when it is marked ``dialect`` (what it checks can differ between the two engines)."""
    if "sql_engine" in metafunc.fixturenames:
        engines = ["sqlite"]
        if metafunc.definition.get_closest_marker("dialect"):
            engines.append(pytest.param("postgres", marks=pytest.mark.postgres))
        metafunc.parametrize("sql_engine", engines)


@pytest.fixture
def sql_url(sql_engine, request, tmp_path):
    """The URL of an empty database: SQLite in tmp_path, or a fresh schema on a private PostgreSQL."""
    if sql_engine == "sqlite":
        yield f"sqlite:///{tmp_path / 'model.db'}"
        return
    with fresh_database_url(request.getfixturevalue("postgres_server")) as url:
        yield url


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> SqliteTemplate:
    """An SQLite model database migrated once per session, copied for each ``store``."""
    return SqliteTemplate(tmp_path_factory.mktemp("stores"))


@pytest.fixture(scope="session")
def postgres_schema(postgres_server):
    """A PostgreSQL schema migrated once per session, emptied for each ``store``."""
    schema = MigratedSchema(postgres_server)
    yield schema
    schema.close()


@pytest.fixture
def store(sql_engine, request, tmp_path):
    """A migrated, empty Store (SQLite with WAL in tmp_path, or PostgreSQL), from a template
    migrated once per session (tests/helpers/stores.py says why that equals migrating)."""
    if sql_engine == "sqlite":
        st = Store(request.getfixturevalue("sqlite_template").copy_to(tmp_path / "model.db"))
    else:
        st = request.getfixturevalue("postgres_schema").empty_store()
    yield st
    st.dispose()
