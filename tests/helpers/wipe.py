"""Wiping an OVN database of a running all-in-one, as an operator who lost it would: stop its
ovsdb-server, delete the file, and let ``ovnet up`` repair (it creates an empty database)."""

from __future__ import annotations

from ovnet.config import Settings
from ovnet.runtime import allinone as aio

DB_FILES = {"nb": "ovnnb_db.db", "sb": "ovnsb_db.db"}


def wipe(settings: Settings, which: str) -> None:
    """Stop the ``which`` ("nb" or "sb") ovsdb-server, delete its database file and run
    ``allinone.up`` (which starts it on a fresh, empty database and leaves the rest running)."""
    service = {s.name: s for s in aio.services(settings)}[f"ovsdb-{which}"]
    service.stop()
    (settings.db_dir / DB_FILES[which]).unlink()
    aio.up(settings)
