"""What the hosts' periodic loops ask of the API costs the same SQL however many hosts there are
(issue 13: no loop whose cost grows with hosts x ports), and a repeated bind takes no write lock.

Each agent's reconcile and Docker endpoint GC list the ports bound to their own host
(``binding:host_id``, indexed since migration 0009); the statements counted here are those of that
list with 5 and with 20 hosts holding the same number of ports each.
"""

from __future__ import annotations

import contextlib

from sqlalchemy import event

PER_HOST = 3


@contextlib.contextmanager
def statements(store):
    """The SQL statements ``store`` runs inside the block, as a list filled in as they run."""
    seen: list[str] = []

    def record(_conn, _cursor, statement, *_args):
        seen.append(statement)

    event.listen(store.engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(store.engine, "before_cursor_execute", record)


def _bound_ports(admin, network_id: str, hosts: range) -> None:
    for h in hosts:
        for _ in range(PER_HOST):
            admin.port(network_id, **{"binding:host_id": f"hv-{h}"})


def _host_listing(admin, store) -> tuple[int, int]:
    with statements(store) as seen:
        r = admin.get("/v2.0/ports", params={"binding:host_id": "hv-0"})
    assert r.status_code == 200, r.text
    return len(r.json()["ports"]), len(seen)


def test_a_hosts_port_listing_issues_the_same_sql_with_5_or_20_hosts(admin, store):
    network = admin.network(name="n")
    admin.subnet(network["id"], "10.7.0.0/16")
    _bound_ports(admin, network["id"], range(5))
    ports_at_5, sql_at_5 = _host_listing(admin, store)
    _bound_ports(admin, network["id"], range(5, 20))
    ports_at_20, sql_at_20 = _host_listing(admin, store)
    assert ports_at_5 == ports_at_20 == PER_HOST
    assert sql_at_5 == sql_at_20


def test_binding_a_port_already_bound_to_the_host_writes_nothing(admin, store):
    network = admin.network(name="n")
    admin.subnet(network["id"], "10.7.0.0/16")
    port = admin.port(network["id"], **{"binding:host_id": "hv-0"})
    with statements(store) as seen:
        r = admin.put(f"/v2.0/ports/{port['id']}/bind_host", {"host": "hv-0"})
    assert r.status_code == 200 and r.json()["changed"] is False
    assert not [s for s in seen if s.lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE", "BEGIN IMMEDIATE"))]
