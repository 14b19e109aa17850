"""IPAM ports no Docker endpoint claimed (dockerd died between RequestAddress and CreateEndpoint)
are swept after the grace period, and only then; a slow but live endpoint create keeps its port,
even when it claims the port while a sweep is deleting it. The real IPAM and network drivers over
the all-in-one's API; the sweep's clock is passed in (no waiting for the grace period)."""

from __future__ import annotations

import ipaddress
import secrets

import pytest

from ovnet.apiclient import ApiClient
from ovnet.host.attach import AttachService
from ovnet.host.docker import pools
from ovnet.host.docker import protocol as p
from ovnet.host.docker.catalog import Catalog
from ovnet.host.docker.ipam import IpamDriver, PoolLedger
from ovnet.host.docker.network import NetworkDriver
from ovnet.host.docker.unclaimed import UnclaimedSweep
from ovnet.host.ovs import LocalOvs
from ovnet.host.vif import HostContext
from tests.helpers.allinone import running_allinone
from tests.helpers.hostnet import ApiNetwork

pytestmark = [pytest.mark.root, pytest.mark.ovn]
GRACE_S = 60.0


@pytest.fixture(scope="module")
def drivers(tmp_path_factory):
    """(admin ApiClient, AttachService) of one all-in-one for the module (each test uses its own
    network); its agent's own sweep waits an hour, so only the tests' sweeps act."""
    tmp = tmp_path_factory.mktemp("unclaimed")
    with running_allinone(tmp, agent_sync_interval=3600.0, docker_ipam_grace_period=3600.0) as aio, \
            ApiClient.from_settings(aio) as api:
        ovs = LocalOvs(aio.ovs_db_sock, aio.bridge)
        try:
            host = HostContext(ovs=ovs, netns=aio.netns, datapath=ovs.datapath_type())
            yield api, AttachService(host, api, aio.chassis_name, aio.bind_timeout)
        finally:
            ovs.close()


class DockerSide:
    """A Docker network on an ovnet network as CreateNetwork leaves it, with this host's drivers."""

    def __init__(self, api, attach, prefix: str):
        self.api, self.docker_id = api, secrets.token_hex(32)
        self.pool_id = pools.PoolSpec(ipaddress.ip_network(f"{prefix}.0/24")).pool_id()
        self.net = ApiNetwork(api, prefix, enable_dhcp=False, tags=[pools.pool_tag(self.pool_id)])
        api.add_tag("networks", self.net.network["id"], pools.network_tag(self.docker_id))
        catalog, ledger = Catalog(api), PoolLedger()
        self.network = NetworkDriver(catalog, ledger, attach, "ovnet")
        self.ipam = IpamDriver(catalog, ledger, self.network.unplug, attach.chassis)

    def request_address(self, mac: str) -> str:
        """RequestAddress as dockerd sends it for an endpoint; the address without its prefix."""
        body = {"PoolID": self.pool_id, "Address": "", "Options": {p.MAC_OPTION: mac}}
        return self.ipam.request_address(p.RequestAddressRequest.parse(body))["Address"].split("/")[0]

    def create_endpoint(self, address: str, mac: str) -> str:
        """CreateEndpoint for that address; returns the endpoint id."""
        endpoint = secrets.token_hex(32)
        body = {"NetworkID": self.docker_id, "EndpointID": endpoint,
                "Interface": {"Address": f"{address}/24", "MacAddress": mac}, "Options": {}}
        self.network.create_endpoint(p.CreateEndpointRequest.parse(body))
        return endpoint

    def port_of(self, address: str) -> dict | None:
        found = self.api.list_ports(network_id=self.net.network["id"], fixed_ips=f"ip_address={address}")
        return found[0] if found else None


def test_a_port_no_endpoint_claimed_is_swept_after_the_grace_period_only(drivers):
    api, attach = drivers
    side = DockerSide(api, attach, "10.95.0")
    address = side.request_address("02:00:00:95:00:01")
    port = side.port_of(address)
    assert pools.ipam_host_tag(attach.chassis) in port["tags"] and port["device_id"] == ""
    sweep = UnclaimedSweep(api, attach.chassis, GRACE_S)

    assert sweep.sweep(now=1000.0) == []  # first seen unclaimed: the clock starts
    assert sweep.sweep(now=1000.0 + GRACE_S - 1) == [] and side.port_of(address) is not None
    assert sweep.sweep(now=1000.0 + GRACE_S) == [port["id"]]

    assert side.port_of(address) is None  # the address is free again


def test_a_port_made_before_ports_named_their_host_is_swept_and_another_hosts_is_not(drivers):
    api, attach = drivers
    side = DockerSide(api, attach, "10.95.3")
    legacy = side.port_of(side.request_address("02:00:00:95:03:01"))
    other = side.port_of(side.request_address("02:00:00:95:03:02"))
    # As an older release's IPAM left it: the IPAM tag, no chassis named; and one of another host.
    api.remove_tag("ports", legacy["id"], pools.ipam_host_tag(attach.chassis))
    api.remove_tag("ports", other["id"], pools.ipam_host_tag(attach.chassis))
    api.add_tag("ports", other["id"], pools.ipam_host_tag("hv-elsewhere"))
    sweep = UnclaimedSweep(api, attach.chassis, GRACE_S)

    assert sweep.sweep(now=0.0) == []
    assert sweep.sweep(now=GRACE_S) == [legacy["id"]]

    assert side.port_of(legacy["fixed_ips"][0]["ip_address"]) is None
    assert side.port_of(other["fixed_ips"][0]["ip_address"])["id"] == other["id"]


def test_a_slow_but_live_endpoint_create_keeps_its_port(drivers):
    api, attach = drivers
    side = DockerSide(api, attach, "10.95.1")
    mac = "02:00:00:95:01:01"
    address = side.request_address(mac)
    sweep = UnclaimedSweep(api, attach.chassis, GRACE_S)
    assert sweep.sweep(now=0.0) == []

    endpoint = side.create_endpoint(address, mac)  # within the grace period

    assert sweep.sweep(now=10 * GRACE_S) == []
    assert side.port_of(address)["device_id"] == endpoint


def test_a_claim_made_while_the_sweep_deletes_keeps_the_port(drivers):
    api, attach = drivers
    side = DockerSide(api, attach, "10.95.2")
    mac = "02:00:00:95:02:01"
    address = side.request_address(mac)
    claimed = []

    class ClaimAfterList:
        """The API as the sweep sees it: the CreateEndpoint lands between its list and its delete."""

        def list_ports(self, **filters):
            listed = api.list_ports(**filters)
            if not claimed:
                claimed.append(side.create_endpoint(address, mac))
            return listed

        def delete_port(self, port_id, **kwargs):
            return api.delete_port(port_id, **kwargs)

    sweep = UnclaimedSweep(ClaimAfterList(), attach.chassis, grace_s=0.0)

    assert sweep.sweep(now=0.0) == []  # the delete was refused: the port changed since the list

    assert claimed and side.port_of(address)["device_id"] == claimed[0]
