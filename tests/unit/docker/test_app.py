"""The plugin's HTTP face on a real unix socket, spoken to exactly as dockerd speaks (empty Host,
no Content-Type, empty bodies), and its libnetwork error mapping."""

from __future__ import annotations

import json

import pytest

from ovnet.apiclient import ApiClient, ApiError
from ovnet.host.docker import protocol as p
from ovnet.host.docker.catalog import Catalog
from ovnet.host.docker.ipam import IpamDriver, PoolLedger
from ovnet.host.docker.app import IPAM_CAPABILITIES, NETWORK_CAPABILITIES, create_app
from ovnet.host.docker.server import PluginServer, SocketInUse, bind_unix, plugin_socket
from ovnet.runtime.process import free_port
from tests.helpers.docker_http import post
from tests.helpers.libnetwork_traces import load


class Scripted:
    """Both driver sides: records parsed requests; raises what ``fail`` names for a method."""

    def __init__(self):
        self.calls: list[tuple[str, object]] = []
        self.fail: dict[str, Exception] = {}

    def __getattr__(self, method):
        def handler(req):
            self.calls.append((method, req))
            if method in self.fail:
                raise self.fail[method]
            return {"PoolID": "pool-1", "Pool": "10.0.0.0/24", "Data": {}} if method == "request_pool" else {}
        return handler


@pytest.fixture
def served(tmp_path):
    driver = Scripted()
    server = PluginServer(create_app(driver, driver), plugin_socket("t", tmp_path))
    server.start()
    yield server.path, driver
    server.stop()
    assert not server.path.exists()


def test_registration_sequence_with_empty_bodies(served):
    path, driver = served
    for call in load("s1-network-create")[:4]:
        status, body, ctype = post(path, call["endpoint"], b"")
        assert status == 200 and ctype.startswith("application/vnd.docker.plugins.v1+json")
        if call["endpoint"] == "Plugin.Activate":
            assert body == {"Implements": ["NetworkDriver", "IpamDriver"]}
    assert post(path, "NetworkDriver.GetCapabilities", b"")[1] == NETWORK_CAPABILITIES
    assert post(path, "IpamDriver.GetCapabilities", b"")[1] == IPAM_CAPABILITIES
    assert driver.calls == []


def test_traced_bodies_reach_the_handlers_parsed(served):
    path, driver = served
    for call in load("s5-dualstack-opts-internal"):
        body = json.dumps(call["request"]).encode() + b"\n" if call["request"] is not None else b""
        status, _answer, _ = post(path, call["endpoint"], body)
        assert status == 200
    methods = [m for m, _ in driver.calls]
    assert methods[:7] == ["request_pool", "request_address", "request_address", "request_address",
                           "request_pool", "request_address", "create_network"]
    create = dict(driver.calls)["create_network"]
    assert isinstance(create, p.CreateNetworkRequest) and create.internal


def test_network_driver_errors_use_err_and_ipam_errors_use_error(served):
    path, driver = served
    driver.fail["create_endpoint"] = p.PluginError("address 10.0.0.5 is already allocated")
    driver.fail["request_address"] = p.PluginError("no free address in 10.0.0.0/24")
    ep = next(c for c in load("s2-run-rm") if c["endpoint"] == "NetworkDriver.CreateEndpoint")["request"]
    status, body, _ = post(path, "NetworkDriver.CreateEndpoint", json.dumps(ep).encode())
    assert (status, body) == (200, {"Err": "address 10.0.0.5 is already allocated"})
    status, body, _ = post(path, "IpamDriver.RequestAddress", b'{"PoolID":"pool-1","Address":"","Options":{}}')
    assert (status, body) == (200, {"Error": "no free address in 10.0.0.0/24"})


def test_a_crash_is_http_500_with_err(served):
    path, driver = served
    driver.fail["release_pool"] = RuntimeError("disk on fire")
    status, body, _ = post(path, "IpamDriver.ReleasePool", b'{"PoolID":"pool-1"}')
    assert status == 500 and "disk on fire" in body["Err"]


def test_an_api_refusal_is_an_answer_with_its_message_not_a_crash(served, caplog):
    path, driver = served
    driver.fail["create_endpoint"] = ApiError(409, "IpAddressAlreadyAllocated",
                                              "IP address 10.0.0.5 already allocated in subnet s1.")
    ep = next(c for c in load("s2-run-rm") if c["endpoint"] == "NetworkDriver.CreateEndpoint")["request"]
    status, body, _ = post(path, "NetworkDriver.CreateEndpoint", json.dumps(ep).encode())
    assert (status, body) == (200, {"Err": "the ovnet API refused: IP address 10.0.0.5 already allocated in subnet s1"})
    assert not [r for r in caplog.records if r.exc_info], "a refusal logged a traceback"


def test_an_unreachable_api_is_an_ipam_error_not_a_traceback(tmp_path, caplog):
    # The real IPAM driver over an API address where nothing listens: connection refused.
    catalog = Catalog(ApiClient(f"http://127.0.0.1:{free_port()}", "token"))
    ipam = IpamDriver(catalog, PoolLedger(), unplug=lambda _port_id: None, chassis="c1")
    server = PluginServer(create_app(Scripted(), ipam), plugin_socket("u", tmp_path))
    server.start()
    try:
        request = {"PoolID": "10.9.9.0/24", "Address": "", "Options": {p.MAC_OPTION: "02:00:00:aa:bb:01"}}
        status, body, _ = post(server.path, "IpamDriver.RequestAddress", json.dumps(request).encode())
    finally:
        server.stop()
        catalog.api.close()
    assert status == 200 and body["Error"].startswith("the ovnet API is not reachable (ConnectError"), body
    assert not [r for r in caplog.records if r.exc_info], "an unreachable API logged a traceback"


def test_malformed_body_is_a_clean_error_and_calls_nothing(served):
    path, driver = served
    status, body, _ = post(path, "NetworkDriver.CreateNetwork", b'{"NetworkID": "nope", "IPv4Data": [')
    assert status == 200 and "not JSON" in body["Err"]
    status, body, _ = post(path, "NetworkDriver.CreateNetwork", b'{"NetworkID": "nope"}')
    assert status == 200 and "not a Docker ID" in body["Err"]
    status, body, _ = post(path, "IpamDriver.RequestPool", b'{"Pool": "10.0.0.0/33"}')
    assert status == 200 and "CIDR" in body["Error"]
    assert driver.calls == []


def test_unknown_call_is_404_and_external_connectivity_is_answered(served):
    path, driver = served
    status, body, _ = post(path, "NetworkDriver.Frobnicate", b"{}")
    assert status == 404 and "Frobnicate" in body["Err"]
    for call in load("s2-run-rm"):
        if call["endpoint"].endswith("ExternalConnectivity"):
            assert post(path, call["endpoint"], json.dumps(call["request"]).encode())[:2] == (200, {})


def test_a_live_socket_is_never_stolen_and_a_dead_one_is_replaced(tmp_path):
    path = plugin_socket("t", tmp_path)
    live = bind_unix(path)
    try:
        with pytest.raises(SocketInUse):
            bind_unix(path)
    finally:
        live.close()
    replaced = bind_unix(path)  # the file is still there, nobody answers: a crashed agent's leftover
    replaced.close()


@pytest.mark.parametrize("name", ["", "a/b", ".hidden", "x:y"])
def test_plugin_names_dockerd_cannot_look_up_are_refused(name):
    with pytest.raises(ValueError):
        plugin_socket(name)
