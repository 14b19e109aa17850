"""Inputs a client can send that once gave a 500 (issue 14): each kind refused with 400, nothing written."""

from __future__ import annotations

import pytest

from tests.unit.api.conftest import neutron_error

SURROGATE = '"\\ud800"'  # a lone UTF-16 surrogate as JSON spells it


def _raw_post(caller, path: str, content: str):
    return caller.client.post(path, content=content.encode(),
                              headers={"X-Auth-Token": caller.token, "Content-Type": "application/json"})


def _raw_put(caller, path: str, content: str):
    return caller.client.put(path, content=content.encode(),
                             headers={"X-Auth-Token": caller.token, "Content-Type": "application/json"})


@pytest.mark.parametrize("body", [
    '{"network": {"name": %s}}',
    '{"network": {"description": %s}}',
    '{"network": {"name": "n", "tags": [%s]}}',
    '{"network": {%s: "x"}}',
    '{"networks": [{"name": "ok"}, {"name": %s}]}',
    '{"network": {"name": "a\\udc00b"}}',  # a low surrogate alone, mid-string
])
def test_lone_surrogate_in_a_network_body_is_400_and_nothing_is_stored(alice, admin, body):
    neutron_error(_raw_post(alice, "/v2.0/networks", body.replace("%s", SURROGATE)), 400, "HTTPBadRequest")
    assert alice.get("/v2.0/networks").json()["networks"] == []
    assert admin.get("/v2.0/networks").status_code == 200


def test_a_valid_surrogate_pair_is_fine(alice):
    r = _raw_post(alice, "/v2.0/networks", '{"network": {"name": "\\ud83d\\ude00", "tags": ["\\ud83d\\ude00"]}}')
    assert r.status_code == 201, r.text
    assert alice.get("/v2.0/networks?tags=%F0%9F%98%80").json()["networks"][0]["name"] == "\U0001F600"


def test_lone_surrogate_in_port_attributes_and_tag_bodies_is_400(alice):
    net = alice.network()
    alice.subnet(net["id"], "10.0.0.0/24")
    for body in ('{"port": {"network_id": "%s", "binding:profile": {"k": %s}}}',
                 '{"port": {"network_id": "%s", "device_owner": %s}}',
                 '{"port": {"network_id": "%s", "allowed_address_pairs": [{"ip_address": %s}]}}'):
        neutron_error(_raw_post(alice, "/v2.0/ports", body % (net["id"], SURROGATE)), 400, "HTTPBadRequest")
    neutron_error(_raw_put(alice, f"/v2.0/networks/{net['id']}/tags", '{"tags": [%s]}' % SURROGATE),
                  400, "HTTPBadRequest")
    neutron_error(_raw_put(alice, f"/v2.0/networks/{net['id']}", '{"network": {"name": %s}}' % SURROGATE),
                  400, "HTTPBadRequest")
    assert alice.get("/v2.0/ports").json()["ports"] == []
    shown = alice.get(f"/v2.0/networks/{net['id']}").json()["network"]
    assert shown["tags"] == [] and shown["name"] == "" and shown["revision_number"] == 2


@pytest.mark.parametrize("suffix", ["%ED%A0%80", "%C0%AF", "%FF", "a%E2%82"])
def test_invalid_utf8_in_paths_is_400(alice, suffix):
    net = alice.network()
    neutron_error(alice.get(f"/v2.0/networks/{suffix}"), 400, "HTTPBadRequest")
    neutron_error(alice.client.put(f"/v2.0/networks/{net['id']}/tags/{suffix}",
                                   headers={"X-Auth-Token": alice.token}), 400, "HTTPBadRequest")
    assert alice.get(f"/v2.0/networks/{net['id']}").json()["network"]["tags"] == []


@pytest.mark.parametrize("query", ["name=%ED%A0%80", "tags=%ED%A0%80", "fields=%FF", "%ED%A0%80=x", "id=a%C3"])
def test_invalid_utf8_in_query_strings_is_400(alice, query):
    alice.network(name="n")
    neutron_error(alice.get(f"/v2.0/networks?{query}"), 400, "HTTPBadRequest")


def test_model_refuses_a_surrogate_from_any_caller(store, alice):
    from ovnet.model.errors import BadRequest
    from ovnet.model.networks import create_network
    from ovnet.model.common import Defaults
    from ovnet.model.tenancy import Context

    with pytest.raises(BadRequest):
        store.run(lambda s: create_network(s, Context(alice.project_id), {"tags": ["\udfff"]}, Defaults()))
