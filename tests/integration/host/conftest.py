"""Fixtures for the host side: this chassis' OVS as a plugging HostContext, workload namespaces,
and logical ports made directly in the real NB with ovn-nbctl (until a test goes through the API)."""

from __future__ import annotations

import secrets
import subprocess
import uuid

import pytest
from pyroute2 import netns

from ovnet.host.ovs import LocalOvs
from ovnet.host.vif import HostContext


def nbctl(settings, *args: str) -> str:
    """Run ovn-nbctl against the all-in-one's NB; returns stdout."""
    done = subprocess.run(["ovn-nbctl", f"--db={settings.nb_url}", "--timeout=10", *args],
                          capture_output=True, text=True, check=True)
    return done.stdout.strip()


def ns_run(name: str, *argv: str, timeout: float = 20, check: bool = True) -> subprocess.CompletedProcess:
    """Run a command inside network namespace ``name``."""
    return subprocess.run(["nsenter", f"--net=/run/netns/{name}", *argv], capture_output=True, text=True,
                          timeout=timeout, check=check)


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


class NbNetwork:
    """A logical switch with a /24 subnet made in NB directly, handing out Neutron-shaped dicts."""

    def __init__(self, settings, cidr_prefix: str = "10.77.0", mtu: int = 1442):
        self.settings = settings
        self.prefix = cidr_prefix
        self.network = {"id": str(uuid.uuid4()), "mtu": mtu, "name": "n"}
        self.subnet = {"id": str(uuid.uuid4()), "cidr": f"{cidr_prefix}.0/24", "ip_version": 4,
                       "gateway_ip": f"{cidr_prefix}.1", "host_routes": [], "network_id": self.network["id"]}
        self.switch = f"ovnet-{self.network['id']}"
        nbctl(settings, "ls-add", self.switch)

    def port(self, host_octet: int, security: bool = True) -> dict:
        port_id = str(uuid.uuid4())
        mac = "fa:16:3e:%02x:%02x:%02x" % (secrets.randbelow(256), secrets.randbelow(256), host_octet)
        ip = f"{self.prefix}.{host_octet}"
        nbctl(self.settings, "lsp-add", self.switch, port_id, "--", "lsp-set-addresses", port_id, f"{mac} {ip}")
        if security:
            nbctl(self.settings, "lsp-set-port-security", port_id, f"{mac} {ip}")
        nbctl(self.settings, "set", "Logical_Switch_Port", port_id,
              f"options:requested-chassis={self.settings.chassis_name}")
        return {"id": port_id, "mac_address": mac, "network_id": self.network["id"],
                "fixed_ips": [{"subnet_id": self.subnet["id"], "ip_address": ip}]}
