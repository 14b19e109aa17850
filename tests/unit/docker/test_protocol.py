"""Parsing every request body a real dockerd 20.10 sent (the traces), and refusing malformed ones."""

from __future__ import annotations

import ipaddress

import pytest

from ovnet.host.docker import protocol as p
from ovnet.host.docker.app import call_table
from tests.helpers.libnetwork_traces import all_calls, calls_of, load

PARSERS = {
    "NetworkDriver.CreateNetwork": p.CreateNetworkRequest,
    "NetworkDriver.DeleteNetwork": p.NetworkRequest,
    "NetworkDriver.CreateEndpoint": p.CreateEndpointRequest,
    "NetworkDriver.DeleteEndpoint": p.EndpointRequest,
    "NetworkDriver.EndpointOperInfo": p.EndpointRequest,
    "NetworkDriver.Join": p.JoinRequest,
    "NetworkDriver.Leave": p.EndpointRequest,
    "NetworkDriver.ProgramExternalConnectivity": p.EndpointRequest,
    "NetworkDriver.RevokeExternalConnectivity": p.EndpointRequest,
    "IpamDriver.RequestPool": p.RequestPoolRequest,
    "IpamDriver.ReleasePool": p.PoolRequest,
    "IpamDriver.RequestAddress": p.RequestAddressRequest,
    "IpamDriver.ReleaseAddress": p.ReleaseAddressRequest,
}


class AnswersNothing:
    def __getattr__(self, name):
        return lambda _req: {}


def test_every_traced_call_is_in_the_call_table():
    table = call_table(AnswersNothing(), AnswersNothing())
    missing = {call["endpoint"] for _s, call in all_calls()} - set(table)
    assert not missing


@pytest.mark.parametrize("scenario,call", all_calls(), ids=lambda v: v if isinstance(v, str) else v["endpoint"])
def test_traced_request_parses(scenario, call):
    body = call["request"]
    if call["endpoint"] not in PARSERS:
        assert body is None  # Activate, GetCapabilities, GetDefaultAddressSpaces: empty bodies
        assert p.parse_body(b"") == {}
        return
    parsed = PARSERS[call["endpoint"]].parse(body)
    if "NetworkID" in body:
        assert parsed.network_id == body["NetworkID"]
    if "EndpointID" in body:
        assert parsed.endpoint_id == body["EndpointID"]
    if "PoolID" in body:
        assert parsed.pool_id == body["PoolID"]


def test_create_network_with_opts_internal_dualstack_aux():
    call = next(c for c in load("s5-dualstack-opts-internal") if c["endpoint"] == "NetworkDriver.CreateNetwork")
    req = p.CreateNetworkRequest.parse(call["request"])
    assert req.internal and req.enable_ipv6
    assert req.mtu() == 1400
    assert req.generic["foo"] == "bar"
    assert [str(d.pool) for d in req.ipv4] == ["192.168.5.0/24"]
    assert [str(d.pool) for d in req.ipv6] == ["fd00::/64"]
    assert str(req.ipv4[0].gateway) == "192.168.5.1/24"
    assert {k: str(v.ip) for k, v in req.ipv4[0].aux_addresses.items()} == {"host1": "192.168.5.10",
                                                                             "host2": "192.168.5.140"}
    assert req.ipv6[0].aux_addresses == {}


def test_create_network_without_options_is_not_internal():
    call = next(c for c in load("s1-network-create") if c["endpoint"] == "NetworkDriver.CreateNetwork")
    req = p.CreateNetworkRequest.parse(call["request"])
    assert not req.internal and not req.enable_ipv6 and req.mtu() is None and req.ipv6 == []


def test_mac_address_option_is_base64_and_matches_the_interface_mac():
    call = next(c for c in load("s3-run-static-ip-mac") if c["endpoint"] == "NetworkDriver.CreateEndpoint")
    assert call["request"]["Options"][p.MAC_OPTION] == "AloBAABQ"
    req = p.CreateEndpointRequest.parse(call["request"])
    assert req.mac == "02:5a:01:00:00:50" and req.mac_given
    assert req.address == ipaddress.ip_interface("192.168.1.50/24")


def test_endpoint_with_builtin_ipam_has_no_mac():
    call = next(c for c in load("s9-misc") if c["endpoint"] == "NetworkDriver.CreateEndpoint"
                and c["request"]["Interface"]["MacAddress"] == "")
    req = p.CreateEndpointRequest.parse(call["request"])
    assert req.mac == "" and not req.mac_given


def test_request_address_kinds_from_the_traces():
    kinds = {}
    for call in calls_of("IpamDriver.RequestAddress"):
        req = p.RequestAddressRequest.parse(call["request"])
        kinds.setdefault(req.kind, []).append(req)
    assert {"gateway", "aux", "endpoint"} == set(kinds)
    assert all(r.mac == "" for r in kinds["gateway"] + kinds["aux"])
    assert all(r.mac.startswith("02:") for r in kinds["endpoint"])
    assert all(r.address is not None for r in kinds["aux"])


def test_request_pool_with_ip_range_and_ipam_opts():
    call = next(c for c in load("s5-dualstack-opts-internal") if c["endpoint"] == "IpamDriver.RequestPool")
    req = p.RequestPoolRequest.parse(call["request"])
    assert str(req.pool) == "192.168.5.0/24" and str(req.sub_pool) == "192.168.5.128/25"
    assert req.options == {"x": "y"} and not req.v6


@pytest.mark.parametrize("raw", [b"", b"  \n", b"null", b"null\n"])
def test_empty_bodies_are_empty_objects(raw):
    assert p.parse_body(raw) == {}


@pytest.mark.parametrize("raw,fragment", [(b"{", "not JSON"), (b"[1]", "JSON object"), (b'"x"', "JSON object")])
def test_malformed_bodies_are_refused(raw, fragment):
    with pytest.raises(p.PluginError, match=fragment):
        p.parse_body(raw)


NID = "a" * 64


@pytest.mark.parametrize("kind,body,fragment", [
    (p.CreateNetworkRequest, {}, "NetworkID is missing"),
    (p.CreateNetworkRequest, {"NetworkID": "abc"}, "not a Docker ID"),
    (p.CreateNetworkRequest, {"NetworkID": NID, "IPv4Data": [{"Pool": "fd00::/64"}]}, "not an IPv4 network"),
    (p.CreateNetworkRequest, {"NetworkID": NID, "IPv4Data": [{"Pool": "10.0.0.1/24"}]}, "CIDR"),
    (p.CreateNetworkRequest, {"NetworkID": NID, "IPv4Data": {"Pool": "10.0.0.0/24"}}, "must be a list"),
    (p.CreateNetworkRequest, {"NetworkID": NID, "Options": {p.GENERIC: {p.DRIVER_MTU: "big"}}}, None),
    (p.CreateEndpointRequest, {"NetworkID": NID, "EndpointID": NID, "Interface": {"MacAddress": "zz"}}, "MAC"),
    (p.CreateEndpointRequest, {"NetworkID": NID, "EndpointID": NID, "Options": {p.MAC_OPTION: "AAE="}}, "6-byte"),
    (p.CreateEndpointRequest, {"NetworkID": NID, "EndpointID": NID, "Interface": {"Address": "fd00::2/64"}},
     "not IPv4"),
    (p.RequestPoolRequest, {"Pool": "10.0.0.0/24", "V6": True}, "not an IPv6 network"),
    (p.RequestPoolRequest, {"Pool": "10.0.0.0/24", "SubPool": "10.0.1.0/25"}, "not inside"),
    (p.RequestAddressRequest, {"PoolID": "x", "Address": "10.0.0.300"}, "not an IP address"),
    (p.ReleaseAddressRequest, {"PoolID": "x"}, "Address is missing"),
])
def test_malformed_requests_are_refused(kind, body, fragment):
    if fragment is None:  # parses, but the MTU option is refused when used
        with pytest.raises(p.PluginError, match="MTU|mtu"):
            kind.parse(body).mtu()
        return
    with pytest.raises(p.PluginError, match=fragment):
        kind.parse(body)


def test_join_response_shape_matches_what_dockerd_accepted():
    traced = next(c for c in load("s3b-run-ports-routes") if c["endpoint"] == "NetworkDriver.Join")["response"]
    ours = p.JoinResponse("tcd88e90ae", gateway="192.168.1.1").as_json()
    assert ours == traced
    internal = p.JoinResponse("vp123", routes=[p.StaticRoute("10.9.0.0/16", "192.168.5.254"),
                                               p.StaticRoute("10.8.0.0/16", "")]).as_json()
    assert "Gateway" not in internal and internal["DisableGatewayService"] is True
    assert internal["StaticRoutes"] == [{"Destination": "10.9.0.0/16", "RouteType": 0, "NextHop": "192.168.5.254"},
                                        {"Destination": "10.8.0.0/16", "RouteType": 1}]
