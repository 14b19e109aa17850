"""The IPAM audit of ``ovnet check`` on a real store (SQLite, and PostgreSQL when marked): what the
unique constraint cannot see, one address held twice in a network through a twin subnet, and an
address outside its subnet, each named in one line; a healthy store has no finding."""

from __future__ import annotations

import pytest

from ovnet.model.audit import ipam_findings, port_bindings
from ovnet.model.schema import IPAllocation, Port, Subnet
from tests.helpers.outbox import change, network_with_port

pytestmark = pytest.mark.dialect  # the IPAM audit is SQL over the allocations


def _findings(store) -> list[str]:
    with store.session(readonly=True) as session:
        return [f["problem"] for f in ipam_findings(session)]


def test_a_healthy_store_has_no_ipam_finding(store):
    network_with_port(store)
    assert _findings(store) == []


def test_an_address_held_twice_in_a_network_and_one_outside_its_subnet_are_named(store):
    net, sub, port = network_with_port(store)
    twin = Subnet(project_id="p1", network_id=net.id, cidr="10.0.0.0/24", ip_version=4, gateway_ip="10.0.0.1")
    change(store, twin)
    other = Port(project_id="p1", network_id=net.id, mac_address="fa:16:3e:00:00:06",
                 fixed_ips=[IPAllocation(subnet_id=twin.id, ip_address="10.0.0.5"),
                            IPAllocation(subnet_id=twin.id, ip_address="10.0.0.255")])
    change(store, other)

    holders = ", ".join(sorted([port.id, other.id]))
    assert _findings(store) == sorted([
        f"address 10.0.0.5 is held 2 times in network {net.id}: ports {holders}",
        f"port {other.id} holds 10.0.0.255, not a usable address of subnet {twin.id} (10.0.0.0/24)",
    ])
    with store.session(readonly=True) as session:
        assert port_bindings(session) == {port.id: "", other.id: ""}
