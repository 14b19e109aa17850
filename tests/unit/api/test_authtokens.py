"""POST /v3/auth/tokens: ovnet's tokens through Keystone's token method, with a catalog that lists
only the network and identity services."""

from __future__ import annotations

import pytest

from ovnet.model.tenancy import OPERATOR, revoke_tokens

TOKENS = "/v3/auth/tokens"


def _auth(token: str) -> dict:
    return {"auth": {"identity": {"methods": ["token"], "token": {"id": token}}}}


def test_admin_and_member_tokens_get_their_project_and_the_catalog(client, admin, alice):
    for caller, role in ((admin, "admin"), (alice, "member")):
        r = client.post(TOKENS, json=_auth(caller.token))
        assert r.status_code == 201, r.text
        assert r.headers["x-subject-token"] == caller.token
        token = r.json()["token"]
        assert token["project"]["id"] == caller.project_id and token["roles"] == [{"id": role, "name": role}]
        services = {s["type"]: s["endpoints"] for s in token["catalog"]}
        assert set(services) == {"network", "identity"}
        assert {e["url"] for e in services["identity"]} == {"http://testserver/v3"}
        assert {e["interface"] for e in services["network"]} == {"public", "internal", "admin"}


@pytest.mark.parametrize("body", [
    {"auth": {"identity": {"methods": ["password"], "password": {"user": {"name": "u", "password": "p"}}}}},
    {"auth": {"identity": {"methods": ["token"], "token": {"id": "not-a-token"}}}},
    {"auth": {"identity": {"methods": ["token"]}}},
    {"auth": "x"},
])
def test_anything_else_is_401_in_keystones_format(client, body):
    r = client.post(TOKENS, json=body)
    assert r.status_code == 401, r.text
    assert r.json()["error"]["code"] == 401


def test_a_body_that_is_not_an_object_is_400(client):
    r = client.post(TOKENS, json=[])
    assert r.status_code == 400 and r.json()["error"]["code"] == 400


@pytest.mark.dialect
def test_a_revoked_token_is_refused_at_once(store, client, alice):
    assert client.post(TOKENS, json=_auth(alice.token)).status_code == 201
    store.run(lambda s: revoke_tokens(s, OPERATOR, alice.project_id, alice.token))
    assert client.post(TOKENS, json=_auth(alice.token)).status_code == 401
