"""Property: applying diff's changes to any NB state converges it, inside the scope only."""

from __future__ import annotations

import copy
import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from ovnet.ovn.diff import diff
from ovnet.ovn.registry import TABLE
from ovnet.ovn.translate import DHCP, LS, LSP, OWNER_KEY

KEYS = ["a", "b", "c", "d"]
VALUES = st.sampled_from(["", "x", "y"])


def row(table: str, key: str, draw_value) -> dict:
    out = {c: draw_value for c in TABLE[table].columns if c != "external_ids"}
    out["external_ids"] = {OWNER_KEY: key}
    return out


@st.composite
def states(draw):
    desired, actual = {}, {}
    uuids = itertools.count()
    for table in (LS, DHCP, LSP):
        keys = draw(st.lists(st.sampled_from(KEYS), unique=True))
        desired[table] = {k: row(table, k, draw(VALUES)) for k in keys}
        have = draw(st.lists(st.tuples(st.sampled_from(KEYS), VALUES), max_size=6))
        actual[table] = [dict(row(table, k, v), _uuid=f"u{next(uuids)}") for k, v in have]
    scope = draw(st.none() | st.sets(st.sampled_from(KEYS)))
    return desired, actual, scope


def apply(actual: dict, changes) -> dict:
    out = copy.deepcopy(actual)
    fresh = itertools.count()
    for ch in changes:
        rows = out[ch.table]
        if ch.op == "create":
            rows.append(dict(copy.deepcopy(ch.new), _uuid=f"new{next(fresh)}"))
        elif ch.op == "update":
            next(r for r in rows if r["_uuid"] == ch.uuid).update(copy.deepcopy(ch.new))
        else:
            rows[:] = [r for r in rows if r["_uuid"] != ch.uuid]
    return out


def by_key(rows, keys=None):
    return sorted((r["external_ids"][OWNER_KEY], sorted((c, str(v)) for c, v in r.items() if c != "_uuid"))
                  for r in rows if keys is None or r["external_ids"][OWNER_KEY] in keys)


@settings(max_examples=300, deadline=None)
@given(states())
def test_applying_the_diff_converges_and_touches_nothing_outside_the_scope(state):
    desired, actual, scope = state
    changes = diff(desired, actual, scope)
    after = apply(actual, changes)
    assert diff(desired, after, scope) == []
    outside = set(KEYS) - scope if scope is not None else set()
    for table in (LS, DHCP, LSP):
        assert by_key(after[table], outside) == by_key(actual[table], outside)
        keys = scope if scope is not None else set(KEYS)
        want = [(k, sorted((c, str(v)) for c, v in r.items())) for k, r in desired[table].items() if k in keys]
        assert by_key(after[table], keys) == sorted(want)
