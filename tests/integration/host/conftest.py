"""Fixtures for the host side: this chassis' OVS as a plugging HostContext, workload namespaces,
networks and ports made through the all-in-one's API (its syncer writes them to the real NB)."""

from __future__ import annotations

import secrets
import subprocess
import time

import pytest
from pyroute2 import netns

from ovnet.apiclient import ApiClient
from ovnet.host.agentclient import AgentClient
from ovnet.host.ovs import LocalOvs
from ovnet.host.vif import HostContext
from ovnet.runtime import allinone as aio
from tests.conftest import private_settings


def ns_run(name: str, *argv: str, timeout: float = 20, check: bool = True) -> subprocess.CompletedProcess:
    """Run a command inside network namespace ``name``."""
    return subprocess.run(["nsenter", f"--net=/run/netns/{name}", *argv], capture_output=True, text=True,
                          timeout=timeout, check=check)


@pytest.fixture
def allinone_settings(tmp_path):
    """The all-in-one of the host tests, with the agent's periodic reconcile an hour apart: a test's
    own POST /reconcile then meets exactly the drift it made (tests of the periodic round make an
    all-in-one of their own). down(purge) runs at teardown."""
    settings = private_settings(tmp_path, agent_sync_interval=3600.0)
    yield settings
    aio.down(settings, purge=True)


@pytest.fixture
def host(allinone):
    """A HostContext on the all-in-one's chassis (br-int in settings.netns)."""
    ovs = LocalOvs(allinone.ovs_db_sock, allinone.bridge)
    try:
        yield HostContext(ovs=ovs, netns=allinone.netns, datapath=ovs.datapath_type())
    finally:
        ovs.close()


@pytest.fixture
def make_netns():
    """Factory for workload network namespaces (``lo`` up); all are removed at teardown."""
    made: list[str] = []

    def make(prefix: str = "ovw") -> str:
        name = f"{prefix}-{secrets.token_hex(4)}"
        netns.create(name)
        made.append(name)
        ns_run(name, "ip", "link", "set", "lo", "up")
        return name

    yield make
    for name in made:
        if name in netns.listnetns():
            netns.remove(name)


class ApiNetwork:
    """A network with one IPv4 /24 subnet made through the API, handing out ports (Neutron dicts)."""

    def __init__(self, api: ApiClient, prefix: str = "10.77.0", **subnet_attrs):
        self.api, self.prefix = api, prefix
        self.network = api.create_network(name=f"net-{prefix}")
        self.subnet = api.create_subnet(network_id=self.network["id"], cidr=f"{prefix}.0/24", ip_version=4,
                                        **subnet_attrs)

    def port(self, host_octet: int, **attrs) -> dict:
        """A port with fixed IP <prefix>.<host_octet>."""
        return self.api.create_port(network_id=self.network["id"], **attrs,
                                    fixed_ips=[{"subnet_id": self.subnet["id"],
                                                "ip_address": f"{self.prefix}.{host_octet}"}])


@pytest.fixture
def api(allinone):
    """An admin ApiClient of the all-in-one's API."""
    with ApiClient.from_settings(allinone) as client:
        yield client


@pytest.fixture
def agent(allinone):
    """An AgentClient of the all-in-one's agent (admin caller)."""
    with AgentClient(allinone.agent_socket) as client:
        yield client


def wait_status(api: ApiClient, port_id: str, status: str, timeout: float = 15.0) -> str:
    """Poll the API until the port's status is ``status`` (the syncer's NB monitor sets it);
    returns the last status seen."""
    deadline = time.monotonic() + timeout
    while True:
        seen = api.show_port(port_id)["status"]
        if seen == status or time.monotonic() > deadline:
            return seen
        time.sleep(0.1)
