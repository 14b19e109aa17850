"""Desired NB rows versus the owned rows NB has: the list of changes that converges them. Pure.

Both sides are plain data. Desired is ``registry.desired_rows`` output. Actual is
``{table: [row, ...]}`` with the owned rows read from NB (``external_ids`` has ``ovnet:id``), each
row holding ``_uuid`` (NB UUID string) and its columns in the same shapes translate uses, reference
columns already turned into ovnet ids.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from ovnet.ovn.registry import ORDER, TABLE, object_id
from ovnet.ovn.translate import OWNER_KEY, Desired, Row


@dataclass(frozen=True)
class Change:
    """One NB write: ``op`` is "create", "update" or "delete"; or "conflict", a create that NB
    would refuse because a row ovnet does not own holds the name (``uuid``), left for an operator.

    ``key`` is the ovnet id of the row, ``uuid`` its NB UUID (None for a create). ``new`` holds
    the full row for a create and the changed columns for an update; ``old`` the columns' current
    values for an update.
    """

    op: str
    table: str
    key: str
    uuid: str | None = None
    new: Row = field(default_factory=dict)
    old: Row = field(default_factory=dict)

    def __str__(self) -> str:
        if self.op == "create":
            return f"{self.table} {self.key}: missing in NB"
        if self.op == "conflict":
            return f"{self.table} {self.key}: name taken by {self.uuid}, a row ovnet does not own; not created"
        if self.op == "delete":
            return f"{self.table} {self.key} ({self.uuid}): owned by ovnet but not in the model"
        cols = "; ".join(f"{c} is {self.old.get(c)!r}, want {v!r}" for c, v in sorted(self.new.items()))
        return f"{self.table} {self.key} ({self.uuid}): {cols}"


def _keeper(rows: list[Row], want: Row | None) -> Row:
    # Two NB rows with one ovnet id only happen by hand or by racing writers; keep the one that
    # carries the expected name so that OVS iface-id bindings keep pointing at it.
    if want is not None and "name" in want:
        for row in rows:
            if row.get("name") == want["name"]:
                return row
    return min(rows, key=lambda r: r["_uuid"])


def diff(desired: Desired, actual: Mapping[str, Iterable[Row]], scope: set[str] | None = None) -> list[Change]:
    """Changes that make NB's owned rows equal ``desired``; restricted to the rows of the objects
    in ``scope`` (object ids; a row ``<id>/<part>`` belongs to object ``<id>``).

    ``scope=None`` compares everything (full reconcile). Only the columns a desired row names are
    compared, so NB-managed columns (``up``, ``Logical_Switch.ports``) are never rewritten.
    Order: creates (in registry.ORDER: referenced and parent tables first), updates, deletes
    (the reverse).
    """
    creates: list[Change] = []
    updates: list[Change] = []
    deletes: list[Change] = []
    for table in ORDER:
        want_rows = desired.get(table, {})
        have: dict[str, list[Row]] = {}
        for row in actual.get(table, []):
            key = row["external_ids"][OWNER_KEY]
            if scope is None or object_id(key) in scope:
                have.setdefault(key, []).append(row)
        keys = want_rows.keys() if scope is None else {k for k in want_rows if object_id(k) in scope}
        for key in sorted(keys - have.keys()):
            creates.append(Change("create", table, key, new=want_rows[key]))
        for key, rows in sorted(have.items()):
            want = want_rows.get(key) if key in keys else None
            keep = _keeper(rows, want) if want is not None else None
            for row in rows:
                if row is not keep:
                    deletes.append(Change("delete", table, key, row["_uuid"]))
            if keep is None:
                continue
            stale = {c: v for c, v in want.items() if keep.get(c) != v}
            if stale:
                updates.append(
                    Change("update", table, key, keep["_uuid"], stale, {c: keep.get(c) for c in stale})
                )
    deletes.sort(key=lambda c: -ORDER.index(c.table))
    return creates + updates + deletes


def held_in(rows: list[Row], key: str, held: Mapping[str, set[str]]) -> None:
    """Rewrite each row's membership key (``Membership.key`` of ``external_ids``) to the holders
    that really hold it, ``held`` being {NB UUID of a member: {holder ovnet id}}, where the written
    list differs: then a row added to or removed from a holder behind ovnet's back shows as drift
    of that key, which the writer's membership mutations repair."""
    for row in rows:
        really = held.get(row["_uuid"], set())
        if set(row["external_ids"].get(key, "").split()) != really:
            row["external_ids"] = {**row["external_ids"], key: " ".join(sorted(really))}


def plan(desired: Desired, actual: Mapping[str, Iterable[Row]], scope: set[str] | None,
         taken: Callable[[str, str], str | None]) -> list[Change]:
    """``diff``, with each create of a row whose table has unique names (``Table.unique_name``)
    and whose name NB already holds turned into a "conflict": NB would refuse the whole
    transaction, and with it every other change of the batch. ``taken(table, name)`` is the NB
    UUID of the row holding that name, or None."""
    out = []
    for change in diff(desired, actual, scope):
        holder = taken(change.table, change.new["name"]) if change.op == "create" and TABLE[change.table].unique_name else None
        out.append(change if holder is None else Change("conflict", change.table, change.key, holder))
    return out
