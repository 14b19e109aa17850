"""Host-side test helpers: commands in a namespace, a network made through the API, port status."""

from __future__ import annotations

import subprocess

from ovnet.apiclient import ApiClient
from tests.helpers.wait import wait_for


def ns_run(name: str, *argv: str, timeout: float = 20, check: bool = True) -> subprocess.CompletedProcess:
    """Run a command inside network namespace ``name``."""
    return subprocess.run(["nsenter", f"--net=/run/netns/{name}", *argv], capture_output=True, text=True,
                          timeout=timeout, check=check)


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


def wait_status(api: ApiClient, port_id: str, status: str, timeout: float = 60.0) -> str:
    """Wait until the port's status is ``status`` (the syncer's NB monitor sets it); returns the
    last status seen. The ceiling is for a loaded machine, where ovn-controller, northd and the
    syncer each may lag seconds; a dead API server fails at once (show_port raises)."""
    seen: list[str] = []
    wait_for(lambda: seen.append(api.show_port(port_id)["status"]) or seen[-1] == status, timeout, 0.1)
    return seen[-1]
