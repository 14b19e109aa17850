"""Member actions (PUT /v2.0/{plural}/{id}/{action}) come from the registry: a declared action
runs in a write transaction and answers its own body; an unknown one is a NeutronError 404."""

from __future__ import annotations

import dataclasses

import pytest

from ovnet.api.app import create_app
from ovnet.model import registry
from ovnet.model.common import Defaults, get_owned, record_update
from ovnet.model.errors import BadRequest
from ovnet.model.schema import Network
from tests.unit.api.conftest import TestClient, _caller, neutron_error


def _rename(session, ctx, network_id: str, body: dict) -> dict:
    """A stand-in action: renames the network, as an action changes its resource."""
    if not isinstance(body.get("name"), str):
        raise BadRequest("name required", "HTTPBadRequest", "name")
    net = get_owned(session, ctx, Network, network_id, "rename")
    net.name = body["name"]
    record_update(session, net)
    return {"id": net.id, "name": net.name}


@pytest.fixture
def alice(store, monkeypatch):
    kind = dataclasses.replace(registry.KINDS["network"], actions={"rename": registry.MemberAction(_rename)})
    monkeypatch.setitem(registry.KINDS, "network", kind)
    with TestClient(create_app(store, defaults=Defaults())) as client:
        yield _caller(store, client, "alice", "member")


def test_declared_action_runs_and_returns_its_body(alice):
    net = alice.network(name="before")
    r = alice.put(f"/v2.0/networks/{net['id']}/rename", {"name": "after"})
    assert r.status_code == 200, r.text
    assert r.json() == {"id": net["id"], "name": "after"}
    shown = alice.get(f"/v2.0/networks/{net['id']}").json()["network"]
    assert shown["name"] == "after" and shown["revision_number"] == net["revision_number"] + 1


def test_action_errors_are_neutron_errors(alice):
    net = alice.network()
    neutron_error(alice.put(f"/v2.0/networks/{net['id']}/rename", {}), 400, "HTTPBadRequest")
    neutron_error(alice.put("/v2.0/networks/nope/rename", {"name": "x"}), 404, "NetworkNotFound")


def test_unknown_action_is_404_and_tags_still_route(alice):
    net = alice.network()
    body = neutron_error(alice.put(f"/v2.0/networks/{net['id']}/fly", {}), 404, "HTTPNotFound")
    assert "fly" in body["message"]
    neutron_error(alice.put(f"/v2.0/subnets/{net['id']}/rename", {"name": "x"}), 404, "HTTPNotFound")
    assert alice.put(f"/v2.0/networks/{net['id']}/tags", {"tags": ["a"]}).json() == {"tags": ["a"]}
