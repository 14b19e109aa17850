"""Safe upgrades (issue 15): a database made by the previous release (tests/fixtures/upgrade/
release_0001.json, built by make_release_0001.py from this repository's history: that release's
own code made the rows through its own API and recorded its answers) is loaded into a schema at
migration 0001, upgraded to head as ``ovnet up`` does (ovnet-server runs Store.migrate at start),
and then every row is still there and the API answers as that release did, on SQLite and PostgreSQL.

"The same" allows what a later release changed on purpose: new fields in an answer, and fields
Neutron's policy shows to admins only (``Kind.admin_fields``: binding:*) left out for members."""

from __future__ import annotations

import datetime as dt
import json
import warnings
from pathlib import Path

import pytest
from sqlalchemy import DateTime, Integer, MetaData, func, select, text

from ovnet.api.app import create_app
from ovnet.model.common import Defaults
from ovnet.model.registry import BY_PLURAL
from ovnet.model.store import Store

pytestmark = pytest.mark.dialect  # issue 15: the upgrade is tested on SQLite and PostgreSQL

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

FIXTURE = json.loads((Path(__file__).parents[2] / "fixtures" / "upgrade" / "release_0001.json").read_text())


def load_release(store: Store) -> None:
    """The fixture's rows into ``store``'s schema (at the fixture's revision), as that release
    left them; PostgreSQL's sequences are moved past the loaded ids, as they were there."""
    meta = MetaData()
    meta.reflect(store.engine)
    with store.engine.begin() as conn:
        for table in meta.sorted_tables:
            rows = FIXTURE["tables"].get(table.name, [])
            for row in rows:
                conn.execute(table.insert().values({
                    k: dt.datetime.fromisoformat(v) if isinstance(table.c[k].type, DateTime) and v else v
                    for k, v in row.items()}))
            if conn.dialect.name == "postgresql" and rows:
                for column in table.primary_key.columns:
                    if isinstance(column.type, Integer) and column.autoincrement in (True, "auto"):
                        conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table.name}', '{column.name}'), "
                                          f"(SELECT max({column.name}) FROM {table.name}))"))


def same(old, new, hidden: set[str], where: str) -> None:
    """Assert ``new`` answers what ``old`` did: every old key with the same value (new keys are
    fine), except ``hidden`` keys, which may be gone."""
    if isinstance(old, dict):
        assert isinstance(new, dict), where
        for key, value in old.items():
            if key in new:
                same(value, new[key], hidden, f"{where}.{key}")
            else:
                assert key in hidden, f"{where}: {key} is gone"
    elif isinstance(old, list) and old and isinstance(old[0], dict):
        assert [o.get("id") for o in old] == [n.get("id") for n in new], where
        for o, n in zip(old, new):
            same(o, n, hidden, where)
    else:
        assert old == new, f"{where}: {old!r} became {new!r}"


def test_a_previous_releases_database_upgrades_with_every_row_and_the_same_answers(sql_url):
    store = Store(sql_url)
    try:
        store.migrate(FIXTURE["alembic"])
        load_release(store)
        store.migrate()  # what ovnet-server does at start (`ovnet up`)
        meta = MetaData()
        meta.reflect(store.engine)
        with store.engine.connect() as conn:
            for name, rows in FIXTURE["tables"].items():
                assert conn.execute(select(func.count()).select_from(meta.tables[name])).scalar_one() == len(rows), name
        with TestClient(create_app(store, defaults=Defaults(network_mtu=1442))) as client:
            for key, old in FIXTURE["answers"].items():
                who, method, path = key.split(" ")
                answer = client.request(method, path, headers={"X-Auth-Token": FIXTURE["tokens"][who]})
                assert answer.status_code == 200, (key, answer.text)
                kind = BY_PLURAL[path.split("/")[2]]
                hidden = set() if who == "admin" else set(kind.admin_fields)
                same(old, answer.json(), hidden, key)
    finally:
        store.dispose()
