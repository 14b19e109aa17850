"""ApiClient.find_project against a real ovnet-server: a project made by `ovnet project create` is
found by name and by id, an unknown one is None, a member token is refused (Keystone's 403)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from ovnet.apiclient import ApiClient, ApiError

OVNET = Path(sys.executable).with_name("ovnet")


def test_find_project_by_name_or_id_needs_an_admin_token(endpoint):
    out = subprocess.run([str(OVNET), "project", "create", "team-x", "--state-dir", str(endpoint.settings.state_dir)],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    project_id = re.search(r"project: team-x \(([0-9a-f-]{36})\)", out.stdout).group(1)
    member_token = re.search(r"token: (\S+)", out.stdout).group(1)
    with ApiClient(endpoint.settings.api_url, endpoint.token) as admin:
        by_name = admin.find_project("team-x")
        assert (by_name["id"], by_name["name"], by_name["domain_id"], by_name["enabled"]) == (
            project_id, "team-x", "default", True)
        assert admin.find_project(project_id) == by_name
        assert admin.find_project("team-y") is None
        assert admin.find_project("a/b") is None  # a name that is no URL path segment
    with ApiClient(endpoint.settings.api_url, member_token) as member, pytest.raises(ApiError) as exc:
        member.find_project("team-x")
    assert (exc.value.status, exc.value.type) == (403, "Forbidden")
    assert "identity:get_project" in exc.value.message
