"""The agent/server one-version skew (issue 15; contract in DESIGN.md "Agent and server versions"):
the fields an agent reads from the server's bind_host answer are all there today, and an agent
builds the same attachment from an answer of a newer server that carries fields it never heard of,
at every level of the answer."""

from __future__ import annotations

import copy

from ovnet.host.attachment import Attachment

# What ovnet.host reads of PUT /v2.0/ports/{id}/bind_host: the server keeps these for one release
# after an agent stops reading one; an agent reads nothing else of it.
READ_BY_AGENTS = {
    "port": {"id", "mac_address", "fixed_ips"},
    "network": {"mtu"},
    "subnet": {"id", "cidr", "gateway_ip", "host_routes"},
    "fixed_ip": {"subnet_id", "ip_address"},
    "host_route": {"destination", "nexthop"},
}


def _bound(admin, alice) -> dict:
    net = alice.network()
    alice.subnet(net["id"], "10.5.0.0/24", host_routes=[{"destination": "10.9.0.0/16", "nexthop": "10.5.0.254"}])
    alice.subnet(net["id"], "fd00:5::/64")
    port = alice.port(net["id"])
    r = admin.put(f"/v2.0/ports/{port['id']}/bind_host", {"host": "hv1"})
    assert r.status_code == 200, r.text
    return r.json()


def _with_unknown_fields(value):
    """``value`` with a field no agent knows added to every object in it (a newer server's answer)."""
    if isinstance(value, dict):
        return {**{k: _with_unknown_fields(v) for k, v in value.items()}, "ovnet:added_later": {"x": [1, None]}}
    if isinstance(value, list):
        return [_with_unknown_fields(v) for v in value]
    return value


def test_the_server_answers_every_field_agents_read(admin, alice):
    bound = _bound(admin, alice)
    assert READ_BY_AGENTS["port"] <= set(bound["port"])
    assert READ_BY_AGENTS["network"] <= set(bound["network"])
    for subnet in bound["subnets"]:
        assert READ_BY_AGENTS["subnet"] <= set(subnet)
        for route in subnet["host_routes"]:
            assert READ_BY_AGENTS["host_route"] <= set(route)
    for fixed in bound["port"]["fixed_ips"]:
        assert READ_BY_AGENTS["fixed_ip"] <= set(fixed)


def test_an_agent_ignores_fields_a_newer_server_adds(admin, alice):
    bound = _bound(admin, alice)
    newer = _with_unknown_fields(copy.deepcopy(bound))
    today = Attachment.from_neutron(bound["port"], bound["network"], bound["subnets"], "veth", "ns1")
    later = Attachment.from_neutron(newer["port"], newer["network"], newer["subnets"], "veth", "ns1")
    assert later == today and len(today.addresses) == 2 and today.routes
