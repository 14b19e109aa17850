"""Fixtures of the CLI unit tests."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from ovnet.cli.main import app
from ovnet.model.store import Store


@pytest.fixture
def cli(tmp_path, monkeypatch):
    """Run ``ovnet ARGS...`` in-process against a migrated SQLite store ``tmp_path/model.db``
    (``OVNET_SQL_URL``) and state dir ``tmp_path/state``; returns typer's Result."""
    url = f"sqlite:///{tmp_path / 'model.db'}"
    Store(url).migrate()
    monkeypatch.setenv("OVNET_SQL_URL", url)
    monkeypatch.setenv("OVNET_STATE_DIR", str(tmp_path / "state"))

    def run(*args):
        return CliRunner().invoke(app, list(args))
    return run
