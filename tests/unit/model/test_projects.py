"""Project rules of the model (tenancy.py) on SQLite and PostgreSQL: names, lookup by name, token counts."""

from __future__ import annotations

import pytest

from ovnet.model.errors import BadRequest, Forbidden, NotFound
from ovnet.model.tenancy import (OPERATOR, Context, create_project, issue_token, project_by_name,
                                 token_counts)


@pytest.mark.parametrize("name", ["a b/../x", "", "x" * 65, ".", "..", "tab\tname", "ä"])
def test_invalid_names_are_bad_requests(store, name):
    with pytest.raises(BadRequest, match="Invalid project name"):
        store.run(lambda s: create_project(s, name))


@pytest.mark.dialect
def test_lookup_by_name_and_token_counts_are_admin_only(store):
    def arrange(session):
        team = create_project(session, "x" * 64)
        create_project(session, "idle")
        issue_token(session, team.id, "member")
        issue_token(session, team.id, "member")
        return team.id
    team_id = store.run(arrange)
    assert store.run(lambda s: project_by_name(s, OPERATOR, "x" * 64).id) == team_id
    assert store.run(lambda s: token_counts(s, OPERATOR)) == {team_id: 2}
    with pytest.raises(NotFound):
        store.run(lambda s: project_by_name(s, OPERATOR, "nobody"))
    member = Context(project_id=team_id)
    with pytest.raises(Forbidden):
        store.run(lambda s: token_counts(s, member))
    with pytest.raises(Forbidden):
        store.run(lambda s: project_by_name(s, member, "idle"))
