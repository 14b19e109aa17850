"""`ovnet backup` / `ovnet restore` failures a new user meets (bad path, unwritable place, a file
that is no backup): each is one `error: ...` line on stderr, exit 1, no traceback, and nothing
half-written is left behind. A SQLite store in tmp_path; no OVN needed (`--no-sync`)."""

from __future__ import annotations

import sqlite3
from contextlib import closing

import pytest


def _one_error_line(result) -> str:
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.output
    assert "Traceback" not in result.output
    return lines[0]


def test_backup_into_a_missing_directory_is_one_error_line(cli, tmp_path):
    line = _one_error_line(cli("backup", str(tmp_path / "nonexistent-dir" / "x.db")))
    assert "No such file or directory" in line
    assert not (tmp_path / "nonexistent-dir").exists()


def test_backup_into_an_unwritable_place_leaves_nothing(cli, tmp_path):
    target = tmp_path / "adir"
    target.mkdir()
    _one_error_line(cli("backup", str(target)))  # a directory is not a file to write
    assert list(target.iterdir()) == []
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".partial")]


def test_backup_replaces_an_old_copy_only_when_complete(cli, tmp_path):
    dest = tmp_path / "copy.db"
    assert cli("backup", str(dest)).exit_code == 0
    assert dest.read_bytes().startswith(b"SQLite format 3\x00")
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".partial")]


@pytest.mark.parametrize("content", [None, b"not a backup", b"SQLite format 3\x00" + b"\xff" * 200])
def test_restore_of_a_missing_or_bogus_file_is_one_error_line(cli, tmp_path, content):
    src = tmp_path / "src.db"
    if content is not None:
        src.write_bytes(content)
    before = _dump(tmp_path / "model.db")
    _one_error_line(cli("restore", "--no-sync", str(src)))
    assert _dump(tmp_path / "model.db") == before


def _dump(db) -> list[str]:
    """The store's schema and rows as SQL (its header's change counter may move on a mere open)."""
    with closing(sqlite3.connect(db)) as conn:
        return list(conn.iterdump())
