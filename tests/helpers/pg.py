"""A private PostgreSQL 15 server for tests marked ``postgres``, started and stopped by pid.

Debian's server refuses to run as root, so initdb and postgres run as the ``postgres`` system
user (``subprocess.Popen(user=...)``, so the pid we hold is the postmaster's own) in a temporary
directory it owns, listening on a private unix socket dir and a free loopback port. Set
OVNET_TEST_PG_URL to use an existing server instead.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ovnet.runtime.process import free_port

PG_BIN = Path("/usr/lib/postgresql/15/bin")
PG_USER = "postgres"
# A ceiling for a loaded machine (initdb's fsync-free start can still take many seconds); the
# wait ends at once when postgres exits.
START_TIMEOUT_S = 120.0


def _unavailable_reason() -> str | None:
    if not (PG_BIN / "postgres").exists():
        return f"PostgreSQL 15 not installed ({PG_BIN}); install Debian's postgresql package"
    if os.geteuid() != 0:
        return "starting a private PostgreSQL needs root (to run it as the postgres user)"
    return None


def _wait_ready(url: str, proc: subprocess.Popen, log: Path) -> None:
    import psycopg

    deadline = time.monotonic() + START_TIMEOUT_S
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"postgres exited with {proc.returncode}: {log.read_text()[-2000:]}")
        try:
            psycopg.connect(url, connect_timeout=2).close()
            return
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


class PrivatePostgres:
    """One postgres server in its own temp dir; tests get a schema each (``create_schema``)."""

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="ovnet-pg-"))
        shutil.chown(self.dir, PG_USER, PG_USER)
        self.port = free_port()
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        data, sock = self.dir / "data", self.dir / "sock"
        as_pg = dict(user=PG_USER, group=PG_USER, extra_groups=[], cwd=self.dir)
        sock.mkdir()
        shutil.chown(sock, PG_USER, PG_USER)
        subprocess.run([PG_BIN / "initdb", "-D", data, "-A", "trust", "-U", PG_USER, "-E", "UTF8"],
                       check=True, capture_output=True, **as_pg)
        log = self.dir / "postgres.log"
        with open(log, "wb") as out:
            self.proc = subprocess.Popen(
                [PG_BIN / "postgres", "-D", data, "-k", sock, "-h", "127.0.0.1", "-p", str(self.port),
                 "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
                 "-c", "max_connections=200"],
                stdout=out, stderr=subprocess.STDOUT, **as_pg)
        _wait_ready(self.admin_url(), self.proc, log)

    def admin_url(self) -> str:
        return f"postgresql://{PG_USER}@127.0.0.1:{self.port}/postgres"

    def create_schema(self, name: str) -> str:
        """Create schema ``name`` in database postgres; return a SQLAlchemy URL (psycopg 3) whose
        connections use it as search_path, so each test gets empty tables in milliseconds."""
        import psycopg

        with psycopg.connect(self.admin_url(), autocommit=True) as conn:
            conn.execute(f'CREATE SCHEMA "{name}"')
        return f"postgresql+psycopg://{PG_USER}@127.0.0.1:{self.port}/postgres?options=-csearch_path%3D{name}"

    def drop_schema(self, name: str) -> None:
        import psycopg

        with psycopg.connect(self.admin_url(), autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)  # postgres "fast shutdown"
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PrivatePostgres | str]:
    """A running private PostgreSQL for the whole session (or OVNET_TEST_PG_URL's server)."""
    if os.environ.get("OVNET_TEST_PG_URL"):
        yield os.environ["OVNET_TEST_PG_URL"]
        return
    reason = _unavailable_reason()
    if reason:
        print(f"SKIP postgres tests: {reason}")
        pytest.skip(reason)
    server = PrivatePostgres()
    try:
        server.start()
        yield server
    finally:
        server.stop()


_db_counter = iter(range(1_000_000))


@contextlib.contextmanager
def fresh_database_url(server: PrivatePostgres | str) -> Iterator[str]:
    """An empty schema on ``server`` for one test, dropped afterwards; with an external
    OVNET_TEST_PG_URL server, that URL itself (its tables are the test's to use)."""
    if isinstance(server, str):
        yield server
        return
    name = f"t{os.getpid()}_{next(_db_counter)}"
    url = server.create_schema(name)
    try:
        yield url
    finally:
        server.drop_schema(name)
