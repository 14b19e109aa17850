"""`ovnet project create|list|token` on a real SQLite store in a state directory: names are validated,
list shows token counts but never token values, token issues a working member token."""

from __future__ import annotations

import re

import pytest
import yaml
from typer.testing import CliRunner

from ovnet.cli.project import app
from ovnet.config import load_settings
from ovnet.model.store import Store
from ovnet.model.tenancy import authenticate

runner = CliRunner()


@pytest.fixture
def state_dir(tmp_path):
    return tmp_path


def _ovnet_project(state_dir, *args):
    return runner.invoke(app, [*args, "--state-dir", str(state_dir)])


def _context_of(state_dir, token):
    store = Store(load_settings(state_dir).sql_url)
    try:
        return store.run(lambda s: authenticate(s, token), readonly=True)
    finally:
        store.dispose()


@pytest.mark.parametrize("name", ["a b/../x", "", "x" * 65, "..", "ünï", "a/b", "team:1"])
def test_invalid_project_names_are_refused_and_create_nothing(state_dir, name):
    r = _ovnet_project(state_dir, "create", name)
    assert r.exit_code == 1 and "Invalid project name" in r.output
    listed = _ovnet_project(state_dir, "list")
    assert listed.exit_code == 0 and "ovnet-" not in listed.output
    assert len(listed.output.strip().splitlines()) == 4  # the table's frame and header only


def test_create_list_and_token(state_dir):
    made = _ovnet_project(state_dir, "create", "team-A_1.x")
    assert made.exit_code == 0, made.output
    project_id = re.search(r"project: team-A_1\.x \(([0-9a-f-]{36})\)", made.output).group(1)
    first = re.search(r"token: (\S+)", made.output).group(1)

    again = _ovnet_project(state_dir, "token", "team-A_1.x")
    assert again.exit_code == 0, again.output
    second = re.search(r"token: (\S+)", again.output).group(1)
    entry = yaml.safe_load(again.output.split("clouds.yaml entry:\n", 1)[1])["clouds"]["ovnet-team-A_1.x"]
    assert second != first and entry["auth"]["token"] == second
    for token in (first, second):  # the new token works and the old one still does
        ctx = _context_of(state_dir, token)
        assert ctx.project_id == project_id and not ctx.is_admin

    assert _ovnet_project(state_dir, "create", "other").exit_code == 0
    listed = _ovnet_project(state_dir, "list")
    assert listed.exit_code == 0
    rows = {cells[0]: cells[1:] for cells in (re.findall(r"[^\s│┃┏┓┗┛━┡┩└┘─]+", line)
                                              for line in listed.output.splitlines()) if len(cells) == 3}
    assert rows["team-A_1.x"] == [project_id, "2"] and rows["other"][1] == "1"
    assert first not in listed.output and second not in listed.output


def test_token_for_an_unknown_project_is_an_error(state_dir):
    r = _ovnet_project(state_dir, "token", "nobody")
    assert r.exit_code == 1 and "Could not find project: nobody" in r.output


def test_revoke_one_token_then_all(state_dir):
    from ovnet.model.errors import NotAuthorized

    made = _ovnet_project(state_dir, "create", "rev")
    first = re.search(r"token: (\S+)", made.output).group(1)
    second = re.search(r"token: (\S+)", _ovnet_project(state_dir, "token", "rev").output).group(1)
    third = re.search(r"token: (\S+)", _ovnet_project(state_dir, "token", "rev").output).group(1)
    r = _ovnet_project(state_dir, "token", "rev", "--revoke", first)
    assert r.exit_code == 0 and "revoked 1 token" in r.output, r.output
    with pytest.raises(NotAuthorized):
        _context_of(state_dir, first)
    assert _context_of(state_dir, second).project_id == _context_of(state_dir, third).project_id
    again = _ovnet_project(state_dir, "token", "rev", "--revoke", first)
    assert again.exit_code == 1 and "not one of this project's tokens" in again.output
    assert _ovnet_project(state_dir, "create", "bystander").exit_code == 0
    r = _ovnet_project(state_dir, "token", "rev", "--revoke", "all")
    assert r.exit_code == 0 and "revoked 2 token" in r.output
    for token in (second, third):
        with pytest.raises(NotAuthorized):
            _context_of(state_dir, token)
    listed = _ovnet_project(state_dir, "list").output
    assert re.search(r"bystander\W+[0-9a-f-]{36}\W+1\W", listed) and re.search(r"rev\W+[0-9a-f-]{36}\W+0\W", listed)


def test_token_with_an_expiry(state_dir):
    import datetime as dt

    from sqlalchemy import update

    from ovnet.model.errors import NotAuthorized
    from ovnet.model.schema import Token, utcnow
    from ovnet.model.tenancy import hash_token

    _ovnet_project(state_dir, "create", "exp")
    r = _ovnet_project(state_dir, "token", "exp", "--expires", "3600")
    assert r.exit_code == 0, r.output
    token = re.search(r"token: (\S+)", r.output).group(1)
    assert _context_of(state_dir, token)
    store = Store(load_settings(state_dir).sql_url)
    try:
        expires = store.run(lambda s: s.get(Token, hash_token(token)).expires_at, readonly=True)
        assert dt.timedelta(seconds=3590) < expires - utcnow() <= dt.timedelta(seconds=3600)
        store.run(lambda s: s.execute(update(Token).values(expires_at=utcnow() - dt.timedelta(seconds=1))))
    finally:
        store.dispose()
    with pytest.raises(NotAuthorized, match="expired"):
        _context_of(state_dir, token)
    assert _ovnet_project(state_dir, "token", "exp", "--expires", "0").exit_code == 2
    assert _ovnet_project(state_dir, "token", "exp", "--expires", "5", "--revoke", "all").exit_code == 2
