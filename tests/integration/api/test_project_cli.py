"""`ovnet project create|list|token` against a real ovnet-server: they go through its /v3 routes
with the admin token (the CLI never opens the store); names are validated, list shows token counts
but never token values, token issues a working member token, an unreachable API is one line."""

from __future__ import annotations

import json
import re

import pytest
import yaml
from typer.testing import CliRunner

from ovnet.apiclient import ApiClient, ApiError
from ovnet.cli.project import app
from ovnet.config import Settings
from ovnet.runtime.process import free_port

runner = CliRunner()


def _ovnet_project(state_dir, *args):
    return runner.invoke(app, [*args, "--state-dir", str(state_dir)])


def _table(output: str) -> dict[str, list[str]]:
    return {cells[0]: cells[1:] for cells in (re.findall(r"[^\s│┃┏┓┗┛━┡┩└┘─]+", line)
                                              for line in output.splitlines()) if len(cells) == 3}


@pytest.mark.parametrize("name", ["a b/../x", "", "x" * 65, "..", "ünï", "a/b", "team:1"])
def test_invalid_project_names_are_refused_and_create_nothing(endpoint, name):
    state = endpoint.settings.state_dir
    r = _ovnet_project(state, "create", name)
    assert r.exit_code == 2 and "Invalid project name" in r.output  # a usage error, as `cni install --name`
    listed = _ovnet_project(state, "list")
    assert listed.exit_code == 0 and set(_table(listed.output)) == {"name", "admin"}


def test_create_list_and_token(endpoint):
    state = endpoint.settings.state_dir
    made = _ovnet_project(state, "create", "team-A_1.x")
    assert made.exit_code == 0, made.output
    project_id = re.search(r"project: team-A_1\.x \(([0-9a-f-]{36})\)", made.output).group(1)
    first = re.search(r"token: (\S+)", made.output).group(1)

    again = _ovnet_project(state, "token", "team-A_1.x")
    assert again.exit_code == 0, again.output
    second = re.search(r"token: (\S+)", again.output).group(1)
    entry = yaml.safe_load(again.output.split("clouds.yaml entry:\n", 1)[1])["clouds"]["ovnet-team-A_1.x"]
    assert second != first and entry["auth"]["token"] == second
    for token in (first, second):  # the new token works and the old one still does
        with ApiClient(endpoint.settings.api_url, token) as member:
            assert member.create_network(name=f"by-{token[:4]}")["project_id"] == project_id

    assert _ovnet_project(state, "create", "other").exit_code == 0
    duplicate = _ovnet_project(state, "create", "other")
    assert duplicate.exit_code == 1 and "already exists" in duplicate.output
    listed = _ovnet_project(state, "list")
    assert listed.exit_code == 0
    rows = _table(listed.output)
    assert rows["team-A_1.x"] == [project_id, "2"] and rows["other"][1] == "1"
    assert first not in listed.output and second not in listed.output


def test_token_for_an_unknown_project_is_an_error(endpoint):
    r = _ovnet_project(endpoint.settings.state_dir, "token", "nobody")
    assert r.exit_code == 1 and "Could not find project: nobody" in r.output


def test_project_routes_need_an_admin_token(endpoint):
    with ApiClient(endpoint.settings.api_url, endpoint.token) as admin:
        project = admin.create_project("team-m")
        member_token = admin.issue_token(project["id"])
        with pytest.raises(ApiError) as unknown:
            admin.issue_token("0b5e8a52-0000-4000-8000-000000000000")
        assert unknown.value.status == 404
    with ApiClient(endpoint.settings.api_url, member_token) as member:
        for call in (lambda: member.create_project("team-n"), lambda: member.issue_token(project["id"]),
                     member.token_counts):
            with pytest.raises(ApiError) as refused:
                call()
            assert (refused.value.status, refused.value.type) == (403, "Forbidden")


def test_an_unreachable_api_is_one_line(tmp_path):
    state = tmp_path / "state"
    Settings(state_dir=state, api_port=free_port()).save()
    Settings(state_dir=state).admin_token_file.write_text("x\n")
    r = _ovnet_project(state, "list")
    assert r.exit_code == 1 and r.output.startswith("error: no API server reachable at http://127.0.0.1:")


def _works(endpoint, token: str) -> bool:
    with ApiClient(endpoint.settings.api_url, token) as member:
        try:
            member.list_networks()
        except ApiError as exc:
            assert exc.status == 401, exc
            return False
    return True


def test_revoke_one_token_then_all_at_once(endpoint):
    """A revoked token is refused on the very next request to the running server (no cache)."""
    state = endpoint.settings.state_dir
    first = re.search(r"token: (\S+)", _ovnet_project(state, "create", "rev").output).group(1)
    second = re.search(r"token: (\S+)", _ovnet_project(state, "token", "rev").output).group(1)
    third = re.search(r"token: (\S+)", _ovnet_project(state, "token", "rev").output).group(1)
    assert all(_works(endpoint, t) for t in (first, second, third))
    r = _ovnet_project(state, "token", "rev", "--revoke", first)
    assert r.exit_code == 0 and "revoked 1 token" in r.output, r.output
    assert not _works(endpoint, first) and _works(endpoint, second) and _works(endpoint, third)
    again = _ovnet_project(state, "token", "rev", "--revoke", first)
    assert again.exit_code == 1 and "not one of this project's tokens" in again.output
    bystander = re.search(r"token: (\S+)", _ovnet_project(state, "create", "bystander").output).group(1)
    r = _ovnet_project(state, "token", "rev", "--revoke", "all")
    assert r.exit_code == 0 and "revoked 2 token" in r.output
    assert not _works(endpoint, second) and not _works(endpoint, third) and _works(endpoint, bystander)
    assert _table(_ovnet_project(state, "list").output)["rev"][1] == "0"


def test_token_with_an_expiry(endpoint):
    import datetime as dt

    from sqlalchemy import update

    from ovnet.model.schema import Token, utcnow
    from ovnet.model.store import Store
    from ovnet.model.tenancy import hash_token

    state = endpoint.settings.state_dir
    _ovnet_project(state, "create", "exp")
    r = _ovnet_project(state, "token", "exp", "--expires", "3600")
    assert r.exit_code == 0, r.output
    token = re.search(r"token: (\S+)", r.output).group(1)
    assert _works(endpoint, token)
    store = Store(endpoint.settings.sql_url)
    try:
        expires = store.run(lambda s: s.get(Token, hash_token(token)).expires_at, readonly=True)
        assert dt.timedelta(seconds=3500) < expires - utcnow() <= dt.timedelta(seconds=3600)
        store.run(lambda s: s.execute(update(Token).where(Token.token_hash == hash_token(token))
                                      .values(expires_at=utcnow() - dt.timedelta(seconds=1))))
    finally:
        store.dispose()
    assert not _works(endpoint, token)
    assert _ovnet_project(state, "token", "exp", "--expires", "0").exit_code == 2
    assert _ovnet_project(state, "token", "exp", "--expires", "5", "--revoke", "all").exit_code == 2


def test_delete_refuses_a_project_that_owns_resources_then_cascades(endpoint):
    state = endpoint.settings.state_dir
    made = _ovnet_project(state, "create", "doomed")
    assert made.exit_code == 0, made.output
    token = re.search(r"token: (\S+)", made.output).group(1)
    with ApiClient(endpoint.settings.api_url, token) as member:
        net = member.create_network(name="n")
        member.create_subnet(network_id=net["id"], cidr="10.7.0.0/24", ip_version=4)
        member.create_port(network_id=net["id"])
    refused = _ovnet_project(state, "delete", "doomed")
    assert refused.exit_code == 1 and "still owns 1 network, 1 subnet, 1 port, 1 security group," in refused.output
    done = _ovnet_project(state, "delete", "doomed", "--cascade")
    assert done.exit_code == 0, done.output
    assert "deleted project doomed and 1 networks, 1 subnets, 1 ports" in done.output and "1 tokens" in done.output
    with ApiClient(endpoint.settings.api_url, token) as member, pytest.raises(ApiError) as gone:
        member.list_networks()
    assert gone.value.status == 401
    assert "doomed" not in _table(_ovnet_project(state, "list").output)
    missing = _ovnet_project(state, "delete", "doomed")
    assert missing.exit_code == 1 and "Could not find project: doomed" in missing.output


def test_delete_cascade_removes_the_projects_cni_conflists_and_only_those(endpoint, tmp_path):
    # `project delete --cascade` left the conflists of `ovnet cni install` behind (new-user finding)
    from ovnet.cli.cni import app as cni_app
    state = endpoint.settings.state_dir
    conf, bins = tmp_path / "conf", [tmp_path / "bin1", tmp_path / "bin2"]
    where = ["--conf-dir", str(conf), *(a for b in bins for a in ("--bin-dir", str(b))), "--state-dir", str(state)]
    nets = {}
    for name in ("gone", "kept"):
        assert _ovnet_project(state, "create", f"cni-{name}").exit_code == 0
        with ApiClient(endpoint.settings.api_url, endpoint.token) as admin:
            project = admin.find_project(f"cni-{name}")["id"]
            nets[name] = admin.create_network(name=f"cn-{name}", project_id=project)
        installed = runner.invoke(cni_app, ["install", nets[name]["id"], "--name", f"cni-{name}", *where])
        assert installed.exit_code == 0, installed.output
    foreign = conf / "cni-other.conflist"  # another plugin's network that names the project: not ovnet's
    foreign.write_text(json.dumps({"name": "cni-other", "plugins": [{"type": "bridge",
                                                                      "project": nets["gone"]["project_id"]}]}))

    done = _ovnet_project(state, "delete", "cni-gone", "--cascade")
    assert done.exit_code == 0, done.output
    assert f"removed {conf / 'cni-gone.conflist'}" in done.output
    assert sorted(p.name for p in conf.iterdir()) == ["cni-kept.conflist", "cni-other.conflist"]
    assert all((b / "ovnet").exists() for b in bins)  # cni-kept still needs the plugin

    done = _ovnet_project(state, "delete", "cni-kept", "--cascade")
    assert done.exit_code == 0, done.output
    assert sorted(p.name for p in conf.iterdir()) == ["cni-other.conflist"]
    assert not any((b / "ovnet").exists() for b in bins) and f"removed {bins[1] / 'ovnet'}" in done.output


def test_cni_install_of_a_network_that_does_not_exist_says_so(endpoint, tmp_path):
    from ovnet.cli.cni import app as cni_app
    state = endpoint.settings.state_dir
    args = ["--conf-dir", str(tmp_path / "conf"), "--bin-dir", str(tmp_path / "bin"), "--state-dir", str(state)]
    r = runner.invoke(cni_app, ["install", "nosuchnet", *args])
    assert r.exit_code == 1 and "ovnet network 'nosuchnet' does not exist" in r.output, r.output
    assert "by id" not in r.output
    r = runner.invoke(cni_app, ["install", "nosuchnet", "--project", "admin", *args])
    assert r.exit_code == 1 and "does not exist in project admin" in r.output, r.output
    assert not (tmp_path / "conf").exists() or not list((tmp_path / "conf").iterdir())


def test_cni_uninstall_of_a_malformed_name_is_a_usage_error(tmp_path):
    from ovnet.cli.cni import app as cni_app
    r = runner.invoke(cni_app, ["uninstall", "bad/name", "--conf-dir", str(tmp_path)])
    assert r.exit_code == 2 and "not a CNI network name" in r.output, r.output
