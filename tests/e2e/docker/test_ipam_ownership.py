"""Addresses and ports that belong to a live endpoint stay its own (issue 15's failing inputs):
a second container with the same MAC, created through the Engine API (``MacAddress``, API 1.41)
as the issue's reporter did, must fail without touching the first one's port, veth or OVS port;
a dockerd restart with live containers must not fail to reserve their addresses."""

from __future__ import annotations

import httpx
import pytest

from tests.helpers.wait import wait_for

pytestmark = [pytest.mark.root, pytest.mark.ovn, pytest.mark.docker]

MAC = "02:00:00:aa:bb:01"


def engine(d) -> httpx.Client:
    """An Engine API client on the private dockerd's socket, pinned to API 1.41."""
    return httpx.Client(transport=httpx.HTTPTransport(uds=str(d.dockerd.sock)), base_url="http://docker/v1.41",
                        timeout=120.0)


def create_and_start(client: httpx.Client, name: str, network: str, mac: str) -> httpx.Response:
    """POST /containers/create with ``MacAddress`` and no address, then /start; the start's answer."""
    made = client.post("/containers/create", params={"name": name},
                       json={"Image": "bb", "Cmd": ["sleep", "3600"], "MacAddress": mac,
                             "HostConfig": {"NetworkMode": network}})
    assert made.status_code == 201, made.text
    return client.post(f"/containers/{name}/start")


def eth0(d, name: str) -> str:
    return d.docker("exec", name, "ip", "-o", "addr", "show", "eth0", check=False).stdout


@pytest.fixture
def n9(ovnet_docker):
    d = ovnet_docker
    name, _ = d.network_create("--subnet", "10.9.9.0/24")
    yield name
    ids = d.docker("ps", "-aq", "--filter", f"network={name}", check=False).stdout.split()
    if ids:
        d.docker("rm", "-f", *ids, check=False)
    d.docker("network", "rm", name, check=False)


def test_second_container_with_the_same_mac_leaves_the_first_alone(ovnet_docker, n9):
    d = ovnet_docker
    net = d.ovnet_network(n9)
    with engine(d) as client:
        started = create_and_start(client, f"{n9}-r1", n9, MAC)
        assert started.status_code == 204, started.text
        assert "inet 10.9.9.2/24" in eth0(d, f"{n9}-r1")
        before = d.api.list_ports(network_id=net["id"])
        assert [p["fixed_ips"][0]["ip_address"] for p in before] == ["10.9.9.2"]

        refused = create_and_start(client, f"{n9}-r2", n9, MAC)
    assert refused.status_code >= 400
    assert MAC in refused.json()["message"], refused.text  # names the MAC, the actual conflict
    after = d.api.list_ports(network_id=net["id"])
    assert [(p["id"], p["status"], p["binding:host_id"]) for p in after] == \
        [(p["id"], "ACTIVE", p["binding:host_id"]) for p in before]
    assert "inet 10.9.9.2/24" in eth0(d, f"{n9}-r1")
    d.docker("run", "--rm", "--network", n9, "bb", "ping", "-c", "2", "-W", "2", "10.9.9.2")


def test_same_mac_and_the_first_ones_address_is_refused_and_rolled_back_harmlessly(ovnet_docker, n9):
    """The re-reservation path: r2 names r1's address too, so the IPAM answers it (dockerd
    restoring r1 looks the same); r2's CreateEndpoint fails and its rollback releases 10.9.9.2,
    which must leave r1's port alone."""
    d = ovnet_docker
    net = d.ovnet_network(n9)
    d.docker("run", "-d", "--name", f"{n9}-r1", "--network", n9, "--mac-address", MAC, "bb", "sleep", "3600")
    before = d.api.list_ports(network_id=net["id"])
    refused = d.docker("run", "-d", "--name", f"{n9}-r2", "--network", n9, "--mac-address", MAC,
                       "--ip", "10.9.9.2", "bb", "sleep", "3600", check=False)
    assert refused.returncode != 0 and "10.9.9.2 is already used by endpoint" in refused.stderr
    assert d.api.list_ports(network_id=net["id"]) == before
    assert "inet 10.9.9.2/24" in eth0(d, f"{n9}-r1")
    d.docker("run", "--rm", "--network", n9, "bb", "ping", "-c", "2", "-W", "2", "10.9.9.2")
    d.docker("rm", "-f", f"{n9}-r1")
    wait_for(lambda: d.api.list_ports(network_id=net["id"]) == [], timeout=30.0, interval=0.2,
             what="r1's port to go with r1")  # an ordinary teardown still releases


def test_dockerd_live_restore_reserves_live_containers_addresses(ovnet_docker, n9):
    d = ovnet_docker
    net = d.ovnet_network(n9)
    d.dockerd.stop()
    d.dockerd.live_restore = True  # must be on in the dockerd that stops
    try:
        d.dockerd.start()
        d.docker("run", "-d", "--name", f"{n9}-live", "--network", n9, "--mac-address", MAC, "bb", "sleep", "3600")
        before = d.api.list_ports(network_id=net["id"])
        logged = len(d.dockerd.log.read_text(errors="replace"))
        d.dockerd.stop()
        d.dockerd.start()
        log = d.dockerd.log.read_text(errors="replace")[logged:]
        assert "Failed to reserve current address" not in log, log[-2000:]
        assert d.api.list_ports(network_id=net["id"]) == before
        assert "inet 10.9.9.2/24" in eth0(d, f"{n9}-live")
        d.docker("run", "--rm", "--network", n9, "bb", "ping", "-c", "2", "-W", "2", "10.9.9.2")
    finally:
        d.dockerd.live_restore = False
