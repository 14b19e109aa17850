"""An online, consistent copy of the model store, and putting one back.

SQLite: the backup API of SQLite itself (``sqlite3.Connection.backup``) copies the database page
by page under its own locking, so the copy is one consistent state even while ovnet-server writes
(WAL mode included); restoring runs the same API the other way, into the live database, which
other connections see replaced as one change. The file is an ordinary SQLite database.

PostgreSQL: ``pg_dump --format=custom`` of the store's schema (one snapshot: pg_dump reads in a
single repeatable-read transaction) and ``pg_restore --clean --if-exists --single-transaction``,
so a failed restore leaves the database as it was. The password, if any, goes in PGPASSWORD,
never on a command line.

A restore is followed by ``Store.migrate`` (a copy made by an older release is upgraded) and, by
the caller, a full reconcile: NB is derived from the model, so it follows the restored model.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
from contextlib import closing
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url

from ovnet.model.errors import BadRequest
from ovnet.model.restoreplan import sqlite_uri
from ovnet.model.store import Store

SQLITE_MAGIC = b"SQLite format 3\x00"
PGDUMP_MAGIC = b"PGDMP"


def _sqlite_path(url: str) -> str:
    return make_url(url).database or ""


def _pg_target(store: Store) -> tuple[list[str], dict[str, str], str]:
    """libpq connection arguments, environment and the schema the store's connections use."""
    url = make_url(store.url)
    with store.engine.connect() as conn:
        schema = conn.execute(text("SELECT current_schema()")).scalar_one()
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    libpq = url.set(drivername="postgresql", password=None).render_as_string(hide_password=False)
    return [f"--dbname={libpq}"], env, schema


def backup(store: Store, dest: Path) -> None:
    """Write a consistent copy of ``store`` (SQLite or PostgreSQL) to ``dest`` while it stays in
    use. The copy is written beside ``dest`` and renamed onto it only when complete, so a failure
    leaves neither a half-written ``dest`` nor the temporary file. Raises OSError (also for SQLite's
    own errors, as their message), or subprocess.CalledProcessError with pg_dump's message."""
    dest = Path(dest)
    tmp = dest.with_name(f".{dest.name}.{os.getpid()}.partial")
    try:
        # Creating the file first turns a bad directory into an OSError naming the cause
        # (sqlite3 would only say "unable to open database file").
        tmp.open("xb").close()
        if store.url.startswith("sqlite"):
            try:
                with closing(sqlite3.connect(_sqlite_path(store.url))) as src, closing(sqlite3.connect(tmp)) as copy:
                    src.backup(copy)
            except sqlite3.Error as exc:
                raise OSError(f"SQLite: {exc}") from exc
        else:
            args, env, schema = _pg_target(store)
            subprocess.run(["pg_dump", "--format=custom", f"--schema={schema}", "--no-owner", f"--file={tmp}",
                            *args], env=env, check=True, capture_output=True, text=True)
        os.replace(tmp, dest)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def check_kind(store: Store, src: Path) -> None:
    """Raise BadRequest unless ``src`` starts as a backup of ``store``'s kind does (a SQLite file
    for SQLite, a pg_dump custom archive for PostgreSQL); OSError when it cannot be read."""
    with open(src, "rb") as f:
        magic = f.read(16)
    if store.url.startswith("sqlite"):
        if magic != SQLITE_MAGIC:
            raise BadRequest(f"{src} is not a SQLite backup (this store is SQLite)")
    elif not magic.startswith(PGDUMP_MAGIC):
        raise BadRequest(f"{src} is not a pg_dump custom-format backup (this store is PostgreSQL)")


def restore(store: Store, src: Path) -> None:
    """Replace the content of ``store`` by the copy in ``src`` (made by ``backup`` from a store of
    the same kind), then migrate it to the current schema. OSError when ``src`` cannot be read;
    BadRequest when ``src`` is not such a copy (the store is left as it was); subprocess.CalledProcessError with pg_restore's message (nothing changed then)."""
    src = Path(src)
    check_kind(store, src)
    if store.url.startswith("sqlite"):
        store.dispose()
        try:
            # Read only and lock-free, so no -wal/-shm files are left beside the backup.
            with closing(sqlite3.connect(sqlite_uri(src), uri=True)) as copy:
                # A file that only starts like SQLite fails here, before the live store is touched.
                copy.execute("PRAGMA quick_check").fetchall()
                with closing(sqlite3.connect(_sqlite_path(store.url))) as live:
                    copy.backup(live)
        except sqlite3.Error as exc:
            raise BadRequest(f"{src} is not a usable SQLite backup: {exc}") from exc
    else:
        args, env, _schema = _pg_target(store)
        store.dispose()
        subprocess.run(["pg_restore", "--clean", "--if-exists", "--single-transaction", "--no-owner", *args, str(src)],
                       env=env, check=True, capture_output=True, text=True)
    store.dispose()
    store.migrate()
