"""The store: migrations create exactly the declared schema; constraints hold in SQL itself."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.exc import IntegrityError

from ovnet.model.schema import Base, IPAllocation, Network, Port, Subnet


def test_migrations_create_the_declared_schema(store):
    with store.engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []


def _net_subnet_port(session):
    net = Network(project_id="p", mtu=1442, tags=[])
    session.add(net)
    session.flush()
    sub = Subnet(project_id="p", network_id=net.id, cidr="10.0.0.0/24", ip_version=4,
                 dns_nameservers=[], host_routes=[], tags=[])
    session.add(sub)
    session.flush()
    return net, sub


def test_unique_constraint_refuses_a_second_allocation_of_one_ip(store):
    with store.session() as s:
        net, sub = _net_subnet_port(s)
        for mac in ("fa:16:3e:00:00:01", "fa:16:3e:00:00:02"):
            s.add(Port(project_id="p", network_id=net.id, mac_address=mac, tags=[], binding_profile={},
                       allowed_address_pairs=[]))
        s.flush()
        ports = s.query(Port).all()
        s.add(IPAllocation(port_id=ports[0].id, subnet_id=sub.id, ip_address="10.0.0.5"))
        s.flush()
        s.add(IPAllocation(port_id=ports[1].id, subnet_id=sub.id, ip_address="10.0.0.5"))
        with pytest.raises(IntegrityError):
            s.flush()
        s.rollback()


def test_unique_constraint_refuses_a_mac_twice_in_one_network(store):
    with store.session() as s:
        net, _ = _net_subnet_port(s)
        for _ in range(2):
            s.add(Port(project_id="p", network_id=net.id, mac_address="fa:16:3e:00:00:01", tags=[],
                       binding_profile={}, allowed_address_pairs=[]))
        with pytest.raises(IntegrityError):
            s.flush()
        s.rollback()
