"""Every error of the API with its Neutron status code and NeutronError type; nothing is written."""

from __future__ import annotations

import pytest

from tests.unit.api.conftest import MAX_BODY, neutron_error


@pytest.fixture
def net(alice):
    network = alice.network(name="n")
    subnet = alice.subnet(network["id"], "10.0.0.0/24")
    return network, subnet


def _count(caller, plural: str) -> int:
    return len(caller.get(f"/v2.0/{plural}").json()[plural])


def test_no_token_is_401(client):
    neutron_error(client.get("/v2.0/networks"), 401, "NotAuthorized")


def test_unknown_token_is_401(client):
    neutron_error(client.get("/v2.0/networks", headers={"X-Auth-Token": "nope"}), 401, "NotAuthorized")


@pytest.mark.parametrize("body, field", [
    ({"network": {"name": "x", "colour": "red"}}, "colour"),
    ({"network": {"admin_state_up": "maybe"}}, "admin_state_up"),
    ({"network": {"mtu": "big"}}, "mtu"),
    ({"network": {"name": 5}}, "name"),
    ({"network": {"id": "5"}}, "id"),
    ({"network": {"status": "DOWN"}}, "status"),
    ({"network": {"name": "x" * 256}}, "name"),
    ({"net": {}}, "network"),
    ({"network": []}, "network"),
])
def test_bad_network_body_is_400_naming_the_field(alice, body, field):
    error = neutron_error(alice.post("/v2.0/networks", body), 400, "HTTPBadRequest")
    assert error["detail"] == field
    assert _count(alice, "networks") == 0


def test_malformed_json_is_400(alice):
    r = alice.client.post("/v2.0/networks", content=b'{"network": {', headers={"X-Auth-Token": alice.token})
    neutron_error(r, 400, "HTTPBadRequest")
    assert _count(alice, "networks") == 0


def test_body_over_the_limit_is_413(alice):
    body = {"networks": [{"name": f"n{i}", "description": "d" * 200} for i in range(MAX_BODY // 200)]}
    error = neutron_error(alice.post("/v2.0/networks", body), 413, "HTTPRequestEntityTooLarge")
    assert str(MAX_BODY) in error["message"]
    assert _count(alice, "networks") == 0


@pytest.mark.parametrize("depth", [33, 30_000])  # 30k: past the recursion limit, under MAX_BODY
def test_body_nested_too_deep_is_400(alice, depth):
    content = b'{"network": {"name": "n", "binding": ' + b"[" * depth + b"]" * depth + b"}}"
    r = alice.client.post("/v2.0/networks", content=content, headers={"X-Auth-Token": alice.token})
    error = neutron_error(r, 400, "HTTPBadRequest")
    assert "32" in error["message"] and error["detail"] == "body"
    assert _count(alice, "networks") == 0


def test_brackets_inside_strings_do_not_count_as_nesting(alice):
    name = "[{" * 60 + '"\\' + "]}" * 60  # an escaped quote and backslash mid-string, too
    r = alice.post("/v2.0/networks", {"network": {"name": name}})
    assert r.status_code == 201, r.text
    assert r.json()["network"]["name"] == name


def test_unexpected_exception_is_a_neutron_error_500(store):
    from ovnet.api.app import create_app
    from tests.unit.api.conftest import TestClient

    app = create_app(store)

    @app.get("/v2.0/broken")
    def broken():
        raise RuntimeError("a bug")

    @app.get("/v3/broken")
    def broken_keystone():
        raise RuntimeError("a bug")

    with TestClient(app, raise_server_exceptions=False) as c:
        r = c.get("/v2.0/broken")
        error = neutron_error(r, 500, "HTTPInternalServerError")
        assert "a bug" not in error["message"]  # internals stay in the server log
        assert r.headers["connection"] == "close"
        k = c.get("/v3/broken")
        assert k.status_code == 500 and k.json()["error"]["code"] == 500
        assert k.headers["connection"] == "close"


def test_after_a_500_the_kept_alive_client_goes_on(store, tmp_path):
    """A real uvicorn: the 500 says Connection: close, so the client's next request opens a new
    connection instead of failing with a reset on the one the server dropped."""
    import asyncio
    import threading

    import httpx
    import uvicorn

    from ovnet.api.app import create_app

    app = create_app(store)

    @app.get("/v2.0/broken")
    def broken():
        raise RuntimeError("a bug")

    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="critical"))
    thread = threading.Thread(target=lambda: asyncio.run(server.serve()), daemon=True)
    thread.start()
    try:
        while not server.started:
            threading.Event().wait(0.02)
        port = server.servers[0].sockets[0].getsockname()[1]
        with httpx.Client(base_url=f"http://127.0.0.1:{port}") as c:
            for _ in range(3):
                r = c.get("/v2.0/broken")
                assert r.status_code == 500 and r.headers["connection"] == "close"
                assert c.get("/healthz").status_code == 200
    finally:
        server.should_exit = True
        thread.join(10)


@pytest.mark.parametrize("cidr", ["10.0.0.0/33", "10.0.0.1/24", "not-a-cidr", "10.0.0.0", "fd00::/129", 42])
def test_invalid_cidr_is_400(alice, cidr):
    network = alice.network()
    r = alice.post("/v2.0/subnets", {"subnet": {"network_id": network["id"], "cidr": cidr, "ip_version": 4}})
    assert neutron_error(r, 400, "HTTPBadRequest")["detail"] == "cidr"
    assert _count(alice, "subnets") == 0


@pytest.mark.parametrize("mac", ["zz:16:3e:00:00:01", "fa:16:3e:00:00", "01:00:5e:00:00:01", "00:00:00:00:00:00"])
def test_invalid_mac_is_400(alice, net, mac):
    r = alice.post("/v2.0/ports", {"port": {"network_id": net[0]["id"], "mac_address": mac}})
    assert neutron_error(r, 400, "HTTPBadRequest")["detail"] == "mac_address"
    assert _count(alice, "ports") == 0


def test_missing_required_attribute_is_400(alice):
    assert neutron_error(alice.post("/v2.0/ports", {"port": {}}), 400, "HTTPBadRequest")["detail"] == "network_id"


def test_subnet_version_mismatch_is_400(alice):
    network = alice.network()
    r = alice.post("/v2.0/subnets", {"subnet": {"network_id": network["id"], "cidr": "fd00::/64", "ip_version": 4}})
    neutron_error(r, 400, "InvalidInput")


def test_updating_a_read_only_attribute_is_400(alice, net):
    port = alice.port(net[0]["id"])
    r = alice.put(f"/v2.0/ports/{port['id']}", {"port": {"network_id": net[0]["id"]}})
    assert neutron_error(r, 400, "HTTPBadRequest")["detail"] == "network_id"
    r = alice.put(f"/v2.0/subnets/{net[1]['id']}", {"subnet": {"cidr": "10.9.0.0/24"}})
    assert neutron_error(r, 400, "HTTPBadRequest")["detail"] == "cidr"


@pytest.mark.parametrize("plural, type_", [("networks", "NetworkNotFound"), ("subnets", "SubnetNotFound"),
                                           ("ports", "PortNotFound")])
def test_missing_resources_are_404(alice, plural, type_):
    missing = "6f1c1f3e-0000-4000-8000-000000000000"
    neutron_error(alice.get(f"/v2.0/{plural}/{missing}"), 404, type_)
    neutron_error(alice.put(f"/v2.0/{plural}/{missing}", {plural[:-1]: {"name": "x"}}), 404, type_)
    neutron_error(alice.delete(f"/v2.0/{plural}/{missing}"), 404, type_)


def test_port_on_a_missing_network_is_404(alice):
    r = alice.post("/v2.0/ports", {"port": {"network_id": "6f1c1f3e-0000-4000-8000-000000000000"}})
    neutron_error(r, 404, "NetworkNotFound")


def test_unknown_path_is_a_neutron_404(alice):
    neutron_error(alice.get("/v2.0/routers-of-mars"), 404, "HTTPNotFound")


@pytest.mark.dialect
def test_taken_fixed_ip_is_409_and_not_replaced(alice, net):
    alice.port(net[0]["id"], fixed_ips=[{"ip_address": "10.0.0.10"}])
    r = alice.post("/v2.0/ports", {"port": {"network_id": net[0]["id"], "fixed_ips": [{"ip_address": "10.0.0.10"}]}})
    neutron_error(r, 409, "IpAddressAlreadyAllocated")
    assert _count(alice, "ports") == 1


@pytest.mark.parametrize("ip, type_", [("10.0.0.0", "InvalidIpForSubnet"), ("10.0.0.255", "InvalidIpForSubnet"),
                                       ("10.0.0.1", "InvalidIpForSubnet"), ("10.1.0.5", "InvalidIpForNetwork")])
def test_requested_ip_not_usable_is_400(alice, net, ip, type_):
    r = alice.post("/v2.0/ports", {"port": {"network_id": net[0]["id"], "fixed_ips": [{"ip_address": ip}]}})
    neutron_error(r, 400, type_)
    assert _count(alice, "ports") == 0


def test_ip_outside_the_named_subnet_is_400(alice, net):
    r = alice.post("/v2.0/ports", {"port": {"network_id": net[0]["id"],
                                            "fixed_ips": [{"subnet_id": net[1]["id"], "ip_address": "10.1.0.5"}]}})
    neutron_error(r, 400, "InvalidIpForSubnet")


@pytest.mark.dialect
def test_taken_mac_is_409(alice, net):
    alice.port(net[0]["id"], mac_address="fa:16:3e:aa:bb:cc")
    r = alice.post("/v2.0/ports", {"port": {"network_id": net[0]["id"], "mac_address": "FA:16:3E:AA:BB:CC"}})
    neutron_error(r, 409, "MacAddressInUse")
    # the same MAC on another network is fine
    other = alice.network()
    assert alice.port(other["id"], mac_address="fa:16:3e:aa:bb:cc")["mac_address"] == "fa:16:3e:aa:bb:cc"


@pytest.mark.dialect
def test_exhausted_subnet_is_409(alice):
    network = alice.network()
    alice.subnet(network["id"], "10.2.0.0/29")  # pool .2 - .6
    for _ in range(5):
        alice.port(network["id"])
    neutron_error(alice.post("/v2.0/ports", {"port": {"network_id": network["id"]}}), 409,
                  "IpAddressGenerationFailure")
    assert _count(alice, "ports") == 5


@pytest.mark.dialect
def test_network_with_ports_is_409_network_in_use(alice, net):
    alice.port(net[0]["id"], device_owner="compute:nova")
    neutron_error(alice.delete(f"/v2.0/networks/{net[0]['id']}"), 409, "NetworkInUse")
    assert _count(alice, "networks") == 1


def test_network_a_front_end_uses_is_409_naming_it(alice, net):
    alice.put(f"/v2.0/networks/{net[0]['id']}/tags/in-use-by:docker-network:0123456789ab", None)
    r = alice.delete(f"/v2.0/networks/{net[0]['id']}")
    neutron_error(r, 409, "NetworkInUse")
    assert "in use by docker-network:0123456789ab" in r.json()["NeutronError"]["message"]
    alice.delete(f"/v2.0/networks/{net[0]['id']}/tags/in-use-by:docker-network:0123456789ab")
    assert alice.delete(f"/v2.0/networks/{net[0]['id']}").status_code == 204


@pytest.mark.dialect
@pytest.mark.parametrize("owner", ["network:dhcp", "compute:cni-pool"])  # a CNI agent's ready ports too
def test_network_with_only_dhcp_ports_is_deleted_with_them(alice, net, owner):
    alice.port(net[0]["id"], device_owner=owner)
    assert alice.delete(f"/v2.0/networks/{net[0]['id']}").status_code == 204
    assert (_count(alice, "networks"), _count(alice, "subnets"), _count(alice, "ports")) == (0, 0, 0)


@pytest.mark.dialect
def test_subnet_in_use_is_409(alice, net):
    alice.port(net[0]["id"])
    neutron_error(alice.delete(f"/v2.0/subnets/{net[1]['id']}"), 409, "SubnetInUse")
    assert _count(alice, "subnets") == 1


def test_overlapping_subnets_of_one_network_are_400(alice, net):
    r = alice.post("/v2.0/subnets", {"subnet": {"network_id": net[0]["id"], "cidr": "10.0.0.128/25",
                                                "ip_version": 4}})
    neutron_error(r, 400, "InvalidInput")


@pytest.mark.parametrize("pools, status, type_, says", [
    ([{"start": "10.3.0.10", "end": "10.4.0.5"}], 400, "InvalidAllocationPool", "spans beyond the subnet cidr"),
    # once told as "spans beyond the cidr" too (new-user finding)
    ([{"start": "10.3.0.20", "end": "10.3.0.10"}], 400, "InvalidAllocationPool",
     "10.3.0.20-10.3.0.10 is not valid: its start 10.3.0.20 is after its end 10.3.0.10"),
    ([{"start": "10.3.0.0", "end": "10.3.0.10"}], 400, "InvalidAllocationPool", "holds a reserved address"),
    ([{"start": "10.3.0.5", "end": "10.3.0.10"}, {"start": "10.3.0.8", "end": "10.3.0.20"}], 400,
     "OverlappingAllocationPools", "overlapping"),
    ([{"start": "10.3.0.1", "end": "10.3.0.10"}], 409, "GatewayConflictWithAllocationPools", "conflicts"),
])
def test_bad_allocation_pools(alice, pools, status, type_, says):
    network = alice.network()
    r = alice.post("/v2.0/subnets", {"subnet": {"network_id": network["id"], "cidr": "10.3.0.0/24", "ip_version": 4,
                                                "allocation_pools": pools}})
    assert says in neutron_error(r, status, type_)["message"]
    assert _count(alice, "subnets") == 0


def test_address_pairs_need_port_security(alice, net):
    r = alice.post("/v2.0/ports", {"port": {"network_id": net[0]["id"], "port_security_enabled": False,
                                            "allowed_address_pairs": [{"ip_address": "10.0.0.200"}]}})
    neutron_error(r, 409, "AddressPairAndPortSecurityRequired")


@pytest.mark.dialect
def test_bulk_create_with_one_bad_item_writes_nothing(alice, net):
    r = alice.post("/v2.0/ports", {"ports": [{"network_id": net[0]["id"]},
                                             {"network_id": net[0]["id"], "fixed_ips": [{"ip_address": "10.0.0.0"}]}]})
    neutron_error(r, 400, "InvalidIpForSubnet")
    assert _count(alice, "ports") == 0


def test_member_cannot_act_for_another_project_or_share(alice, bob):
    r = alice.post("/v2.0/networks", {"network": {"project_id": bob.project_id}})
    neutron_error(r, 403, "PolicyNotAuthorized")
    neutron_error(alice.post("/v2.0/networks", {"network": {"shared": True}}), 403, "PolicyNotAuthorized")
    assert _count(alice, "networks") == 0


@pytest.mark.dialect
def test_bad_list_parameters_are_400(alice):
    neutron_error(alice.get("/v2.0/networks?colour=red"), 400, "HTTPBadRequest")
    neutron_error(alice.get("/v2.0/networks?sort_key=colour"), 400, "HTTPBadRequest")
    neutron_error(alice.get("/v2.0/networks?sort_key=name&sort_dir=up"), 400, "HTTPBadRequest")
    neutron_error(alice.get("/v2.0/networks?limit=many"), 400, "HTTPBadRequest")
    error = neutron_error(alice.get("/v2.0/networks?limit=-1"), 400, "HTTPBadRequest")
    assert "0 or greater" in error["message"] and error["detail"] == "limit"
    neutron_error(alice.get("/v2.0/networks?mtu=big"), 400, "HTTPBadRequest")
    neutron_error(alice.get("/v2.0/networks?limit=1&marker=6f1c1f3e-0000-4000-8000-000000000000"), 404, "NotFound")
