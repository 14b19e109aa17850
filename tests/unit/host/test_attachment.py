"""The typed attachment: read once from the API's Neutron JSON, validated on construction."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ovnet.host.attachment import Attachment, Route
from ovnet.host.errors import BadRequest

PORT = {"id": "p1", "mac_address": "fa:16:3e:00:00:01",
        "fixed_ips": [{"subnet_id": "s4", "ip_address": "10.0.0.5"},
                      {"subnet_id": "s6", "ip_address": "2001:db8::5"},
                      {"subnet_id": "s4b", "ip_address": "10.1.0.5"}]}
SUBNETS = [
    {"id": "s4", "cidr": "10.0.0.0/24", "gateway_ip": "10.0.0.1",
     "host_routes": [{"destination": "10.9.0.0/16", "nexthop": "10.0.0.254"}]},
    {"id": "s6", "cidr": "2001:db8::/64", "gateway_ip": None, "host_routes": []},
    {"id": "s4b", "cidr": "10.1.0.0/22", "gateway_ip": "10.1.0.1",
     "host_routes": [{"destination": "10.9.0.0/16", "nexthop": "10.0.0.254"}]},
]


def test_from_neutron_reads_addresses_gateways_routes_and_mtu():
    att = Attachment.from_neutron(PORT, {"mtu": 1442}, SUBNETS, "veth", "ns1", ifname="eth1")
    assert (att.port_id, att.kind, att.target, att.ifname, att.mac, att.mtu) == (
        "p1", "veth", "ns1", "eth1", "fa:16:3e:00:00:01", 1442)
    assert att.addresses == (ipaddress.ip_interface("10.0.0.5/24"), ipaddress.ip_interface("2001:db8::5/64"),
                             ipaddress.ip_interface("10.1.0.5/22"))
    # One gateway per IP version, from the first subnet of that version that has one.
    assert att.gateways == (ipaddress.ip_address("10.0.0.1"),)
    assert att.gateway(4) == ipaddress.ip_address("10.0.0.1") and att.gateway(6) is None
    # The same host route of two subnets is one route.
    assert att.routes == (Route(ipaddress.ip_network("10.9.0.0/16"), ipaddress.ip_address("10.0.0.254")),)


def test_a_network_without_mtu_and_a_port_without_addresses():
    att = Attachment.from_neutron({"id": "p2", "mac_address": "fa:16:3e:00:00:02", "fixed_ips": []}, {}, [],
                                  "tap", "tap0", owner="nobody")
    assert (att.mtu, att.addresses, att.gateways, att.routes, att.owner) == (None, (), (), (), "nobody")


def test_a_fixed_ip_of_a_subnet_not_given_is_a_bad_request():
    with pytest.raises(BadRequest, match="s6"):
        Attachment.from_neutron(PORT, {"mtu": 1500}, [SUBNETS[0]], "veth", "ns1")


@pytest.mark.parametrize("changes", [{"kind": "macvtap"}, {"kind": "ovs"}, {"ifname": ""}, {"ifname": "a" * 16},
                                     {"ifname": "a/b"}])
def test_an_unknown_kind_or_bad_ifname_is_refused(changes):
    with pytest.raises(BadRequest):
        Attachment(**{"port_id": "p", "kind": "veth", "target": "ns", "mac": "fa:16:3e:00:00:03", **changes})


def test_attachments_are_values():
    one = Attachment.from_neutron(PORT, {"mtu": 1442}, SUBNETS, "veth", "ns1")
    assert one == Attachment.from_neutron(PORT, {"mtu": 1442}, SUBNETS, "veth", "ns1")
    with pytest.raises(AttributeError):
        one.mtu = 9000  # type: ignore[misc]


@given(st.ip_addresses(v=4), st.integers(min_value=8, max_value=30))
def test_the_prefix_length_is_the_subnets(address, prefix):
    cidr = ipaddress.ip_network(f"{address}/{prefix}", strict=False)
    port = {"id": "p", "mac_address": "fa:16:3e:00:00:04",
            "fixed_ips": [{"subnet_id": "s", "ip_address": str(address)}]}
    att = Attachment.from_neutron(port, {"mtu": 1500}, [{"id": "s", "cidr": str(cidr), "gateway_ip": None}],
                                  "internal", "ovi0")
    assert att.addresses == (ipaddress.ip_interface(f"{address}/{prefix}"),)
