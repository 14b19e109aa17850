"""Prepared statements on the driver's cursor give what SQLAlchemy's execution gives, per engine."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import bindparam, select
from sqlalchemy.exc import IntegrityError

from ovnet.model import bulkwrite, ipam, prepared
from ovnet.model.errors import Conflict
from ovnet.model.prepared import Prepared
from ovnet.model.schema import IPAllocation, Network, Port, Subnet, Token

pytestmark = pytest.mark.dialect  # type processing and driver errors differ between the engines

NETWORK = Prepared(select(Network.id, Network.shared, Network.port_security_enabled, Network.tags,
                          Network.created_at, Network.provider_segmentation_id)
                   .where(Network.id == bindparam("id")))


def _network(store, **attrs) -> str:
    with store.session() as s:
        net = Network(project_id="p", mtu=1442, **attrs)
        s.add(net)
        s.flush()
        return net.id


def _subnet_and_port(store) -> tuple[str, str]:
    """A network with a /24 subnet and one port (no address yet): (subnet id, port id)."""
    net_id = _network(store)
    with store.session() as s:
        sub = Subnet(project_id="p", network_id=net_id, cidr="10.0.0.0/24", ip_version=4,
                     dns_nameservers=[], host_routes=[], tags=[])
        port = Port(project_id="p", network_id=net_id, mac_address="fa:16:3e:00:00:02", tags=[],
                    binding_profile={}, allowed_address_pairs=[])
        s.add_all([sub, port])
        s.flush()
        return sub.id, port.id


def test_rows_carry_the_types_sqlalchemy_gives(store):
    """Booleans as bool, JSON decoded, timestamps as datetime, NULL as None: exactly the values
    of the same statement through Connection.execute."""
    net_id = _network(store, shared=True, port_security_enabled=False, tags=["a", "b"])
    with store.session(readonly=True) as s:
        mine = NETWORK.first(s, {"id": net_id})
        theirs = s.connection().execute(NETWORK.statement, {"id": net_id}).first()
    assert tuple(mine) == tuple(theirs)
    assert mine.shared is True and mine.port_security_enabled is False
    assert mine.tags == ["a", "b"] and isinstance(mine.created_at, dt.datetime)
    assert mine.provider_segmentation_id is None


def test_no_row_gives_none_and_literals_of_the_statement_are_bound(store):
    """A literal inside the statement (here ``shared IS true`` and a constant) is bound with the
    value the statement fixes; a missing row is None for first() and scalar()."""
    shared = _network(store, shared=True)
    _network(store, shared=False)
    query = Prepared(select(Network.id).where(Network.shared.is_(True), Network.mtu == 1442))
    with store.session(readonly=True) as s:
        assert list(query.scalars(s)) == [shared]
        assert NETWORK.first(s, {"id": "nope"}) is None
        assert NETWORK.scalar(s, {"id": "nope"}) is None


def test_the_session_is_flushed_first(store):
    """Like an ORM query, a prepared read sees what the session added but did not flush."""
    with store.session() as s:
        s.add(Network(project_id="p", mtu=1442, id="late-one"))
        assert NETWORK.scalar(s, {"id": "late-one"}) == "late-one"


def test_only_a_select_is_prepared():
    from sqlalchemy import delete

    with pytest.raises(ValueError, match="SELECT"):
        Prepared(delete(Network).where(Network.id == bindparam("id")))


def test_an_expanding_parameter_is_refused(store):
    query = Prepared(select(Network.id).where(Network.id.in_(bindparam("ids", expanding=True))))
    with store.session(readonly=True) as s, pytest.raises(ValueError, match="expanding"):
        query.rows(s, {"ids": ["a"]})


def test_inserted_rows_read_back_through_the_orm(store):
    """insert_rows applies the columns' bind processors (JSON, booleans, timestamps): the ORM
    reads back what the objects held."""
    net_id = _network(store)
    port = Port(project_id="p", network_id=net_id, mac_address="fa:16:3e:00:00:01", tags=["t"],
                binding_profile={"k": 1}, allowed_address_pairs=[], admin_state_up=False)
    with store.session() as s:
        bulkwrite.insert_all(s, [port])
    with store.session(readonly=True) as s:
        back = s.get(Port, port.id)
        assert (back.tags, back.binding_profile, back.admin_state_up) == (["t"], {"k": 1}, False)
        assert back.created_at == port.created_at.replace(tzinfo=back.created_at.tzinfo)


def test_a_driver_error_is_sqlalchemys_and_the_store_retries_it(store):
    """A unique-constraint violation on the driver's cursor raises sqlalchemy's IntegrityError
    (what Store.run retries), and the transaction is rolled back: nothing of it stays."""
    sub_id, port_id = _subnet_and_port(store)
    rows = [{"port_id": port_id, "subnet_id": sub_id, "ip_address": "10.0.0.9"}]
    with store.session() as s:
        prepared.insert_rows(s, IPAllocation.__table__, rows)
    attempts = []

    def again(s):
        attempts.append(1)
        prepared.insert_rows(s, IPAllocation.__table__, rows)

    with pytest.raises(Conflict):
        store.run(again)
    assert len(attempts) > 1  # retried as a race, then given up
    with pytest.raises(IntegrityError), store.session() as s:
        s.add(Network(project_id="p", mtu=1442, id="rolled-back"))
        prepared.insert_rows(s, IPAllocation.__table__, rows)
    with store.session(readonly=True) as s:
        assert s.scalars(select(IPAllocation.ip_address)).all() == ["10.0.0.9"]
        assert s.get(Network, "rolled-back") is None


@pytest.mark.parametrize("count", [0, 1, 5, ipam.CANDIDATES, ipam.CANDIDATES + 3])
def test_taken_finds_exactly_the_held_candidates(store, count):
    """The candidate check: up to CANDIDATES through the fixed statement (fewer repeat
    themselves), more through the expanding one; both find exactly the held ones."""
    sub_id, port_id = _subnet_and_port(store)
    with store.session() as s:
        for last in (2, 4):
            s.add(IPAllocation(port_id=port_id, subnet_id=sub_id, ip_address=f"10.0.0.{last}"))
    candidates = [f"10.0.0.{i}" for i in range(1, count + 1)]
    with store.session(readonly=True) as s:
        assert ipam._taken(s, sub_id, candidates) == {"10.0.0.2", "10.0.0.4"} & set(candidates)


def test_a_token_row_is_read_with_its_expiry(store):
    from ovnet.model.tenancy import create_project, issue_token, authenticate
    from ovnet.model.errors import NotAuthorized

    with store.session() as s:
        project = create_project(s, "p1")
        s.flush()
        live = issue_token(s, project.id, "admin")
        dead = issue_token(s, project.id, "member", expires_in_s=60)
        s.query(Token).filter(Token.role == "member").update({"expires_at": dt.datetime(2000, 1, 1)})
    with store.session(readonly=True) as s:
        ctx = authenticate(s, live)
        assert (ctx.project_id, ctx.is_admin) == (project.id, True)
        with pytest.raises(NotAuthorized, match="expired"):
            authenticate(s, dead)
