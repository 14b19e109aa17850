"""The Keystone v3 slice: GET /v3/projects[?name=] and /v3/projects/{id}, admin only, Keystone errors."""

from __future__ import annotations

import pytest

from tests.helpers.tenant import keystone_error


@pytest.mark.dialect
def test_admin_finds_a_project_by_name_and_by_id(admin, alice, bob):
    r = admin.get("/v3/projects", params={"name": "alice"})
    assert r.status_code == 200, r.text
    [found] = r.json()["projects"]
    assert {k: found[k] for k in ("id", "name", "domain_id", "enabled")} == {
        "id": alice.project_id, "name": "alice", "domain_id": "default", "enabled": True}
    shown = admin.get(f"/v3/projects/{bob.project_id}")
    assert shown.status_code == 200 and shown.json()["project"]["name"] == "bob"
    assert shown.json()["project"]["links"]["self"].endswith(f"/v3/projects/{bob.project_id}")


@pytest.mark.dialect
def test_admin_lists_every_project_and_filters_by_domain(admin, alice, bob):
    names = [p["name"] for p in admin.get("/v3/projects").json()["projects"]]
    assert names == ["admin", "alice", "bob"]
    assert len(admin.get("/v3/projects", params={"domain_id": "default"}).json()["projects"]) == 3
    assert admin.get("/v3/projects", params={"domain_id": "other"}).json()["projects"] == []


def test_unknown_name_is_an_empty_list_and_unknown_id_is_404(admin):
    assert admin.get("/v3/projects", params={"name": "nobody"}).json()["projects"] == []
    body = keystone_error(admin.get("/v3/projects/0b5e8a52-0000-4000-8000-000000000000"), 404)
    assert "Could not find project" in body["message"]


def test_member_is_forbidden_in_keystones_format(alice, bob):
    keystone_error(alice.get("/v3/projects", params={"name": "bob"}), 403)
    body = keystone_error(alice.get(f"/v3/projects/{bob.project_id}"), 403)
    assert "identity:get_project" in body["message"]
    # its own project a member may read (Keystone's get_project policy), as openstack quota show does
    assert alice.get(f"/v3/projects/{alice.project_id}").json()["project"]["name"] == "alice"


def test_no_token_or_a_bad_token_is_401(client, alice):
    keystone_error(client.get("/v3/projects", params={"name": "alice"}), 401)
    keystone_error(client.get(f"/v3/projects/{alice.project_id}", headers={"X-Auth-Token": "nope"}), 401)


def test_unknown_v3_path_is_a_keystone_404_and_neutron_paths_keep_their_format(admin):
    keystone_error(admin.get("/v3/users"), 404)
    assert "NeutronError" in admin.get("/v2.0/nothing").json()


@pytest.mark.dialect
def test_admin_creates_a_project_keystones_way_and_a_taken_name_is_409(admin):
    made = admin.post("/v3/projects", {"project": {"name": "carol"}})
    assert made.status_code == 201, made.text
    project = made.json()["project"]
    assert (project["name"], project["domain_id"]) == ("carol", "default")
    assert admin.get(f"/v3/projects/{project['id']}").json()["project"]["name"] == "carol"
    keystone_error(admin.post("/v3/projects", {"project": {"name": "carol"}}), 409)
    keystone_error(admin.post("/v3/projects", {"project": {"name": "a/b"}}), 400)
    keystone_error(admin.post("/v3/projects", {"name": "carol"}), 400)


def test_admin_issues_member_tokens_and_counts_them(admin, alice, client):
    before = admin.get("/v3/OS-OVNET/token_counts").json()["token_counts"][alice.project_id]
    made = admin.post(f"/v3/OS-OVNET/projects/{alice.project_id}/tokens")
    assert made.status_code == 201, made.text
    token = made.json()["token"]
    assert (token["project_id"], token["role"]) == (alice.project_id, "member")
    listed = client.get("/v2.0/networks", headers={"X-Auth-Token": token["secret"]})
    assert listed.status_code == 200  # the new secret authenticates as a member of alice
    assert admin.get("/v3/OS-OVNET/token_counts").json()["token_counts"][alice.project_id] == before + 1
    keystone_error(admin.post("/v3/OS-OVNET/projects/0b5e8a52-0000-4000-8000-000000000000/tokens"), 404)


def test_a_member_may_not_create_projects_or_tokens(alice):
    keystone_error(alice.post("/v3/projects", {"project": {"name": "x"}}), 403)
    keystone_error(alice.post(f"/v3/OS-OVNET/projects/{alice.project_id}/tokens"), 403)
    keystone_error(alice.get("/v3/OS-OVNET/token_counts"), 403)
