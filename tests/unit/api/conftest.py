"""API test fixtures: the app over a migrated store (SQLite and PostgreSQL), tokens of two projects."""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import pytest

from ovnet.api.app import create_app
from ovnet.model.common import Defaults
from ovnet.model.store import Store
from ovnet.model.tenancy import create_project, get_or_create_project, issue_token

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

MAX_BODY = 64 * 1024


@dataclass
class Caller:
    """A TestClient bound to one token; ``project_id`` is the token's project."""

    client: TestClient
    token: str
    project_id: str

    def _h(self, kw: dict | None = None) -> dict:
        # The token, plus (and taken out of) the ``headers`` a call passed in ``kw``.
        return {"X-Auth-Token": self.token, **(kw.pop("headers", {}) if kw else {})}

    def get(self, path: str, **kw):
        return self.client.get(path, headers=self._h(kw), **kw)

    def post(self, path: str, body=None, **kw):
        return self.client.post(path, json=body, headers=self._h(kw), **kw)

    def put(self, path: str, body=None, **kw):
        return self.client.put(path, json=body, headers=self._h(kw), **kw)

    def delete(self, path: str, **kw):
        return self.client.delete(path, headers=self._h(kw), **kw)

    # shorthands that assert success, for arranging a test
    def network(self, **attrs) -> dict:
        r = self.post("/v2.0/networks", {"network": attrs})
        assert r.status_code == 201, r.text
        return r.json()["network"]

    def subnet(self, network_id: str, cidr: str, **attrs) -> dict:
        version = 6 if ":" in cidr else 4
        r = self.post("/v2.0/subnets", {"subnet": {"network_id": network_id, "cidr": cidr, "ip_version": version,
                                                   **attrs}})
        assert r.status_code == 201, r.text
        return r.json()["subnet"]

    def port(self, network_id: str, **attrs) -> dict:
        r = self.post("/v2.0/ports", {"port": {"network_id": network_id, **attrs}})
        assert r.status_code == 201, r.text
        return r.json()["port"]


class StoreSwitch:
    """Stands for the running test's Store inside the session's one app: every attribute is the
    target's, so the app reads and writes that test's own empty database."""

    def __init__(self) -> None:
        self.target: Store | None = None

    def __getattr__(self, name: str):
        if self.target is None:
            raise RuntimeError("the shared API app was used outside a test's client fixture")
        return getattr(self.target, name)


@pytest.fixture(scope="session")
def shared_app() -> tuple[StoreSwitch, TestClient]:
    """One app and TestClient for the session: building the app's ~140 routes costs ~0.25 s
    (FastAPI makes a pydantic adapter per parameter), more than most tests here. The app keeps no
    state of its own between requests (no token cache; the store holds everything)."""
    switch = StoreSwitch()
    with TestClient(create_app(switch, defaults=Defaults(network_mtu=1442), max_body=MAX_BODY)) as c:
        yield switch, c


@pytest.fixture
def client(store, shared_app):
    """The session's TestClient, its app serving this test's ``store``."""
    switch, c = shared_app
    switch.target = store
    yield c
    switch.target = None


def _caller(store, client, name: str, role: str) -> Caller:
    def work(session):
        project = get_or_create_project(session, name) if role == "admin" else create_project(session, name)
        return project.id, issue_token(session, project.id, role)
    project_id, token = store.run(work)
    return Caller(client, token, project_id)


@pytest.fixture
def admin(store, client) -> Caller:
    return _caller(store, client, "admin", "admin")


@pytest.fixture
def alice(store, client) -> Caller:
    return _caller(store, client, "alice", "member")


@pytest.fixture
def bob(store, client) -> Caller:
    return _caller(store, client, "bob", "member")


def neutron_error(response, status: int, type_: str) -> dict:
    """Assert ``response`` is a NeutronError of ``status`` and ``type_``; return its body."""
    assert response.status_code == status, response.text
    body = response.json()["NeutronError"]
    assert body["type"] == type_, body
    assert body["message"]
    return body
