"""A QEMU VM and a Docker container on one ovnet network: the container pings the VM and talks to
its TCP echo service with busybox nc."""

from __future__ import annotations

import secrets

import pytest

from ovnet.testbed import vm as vm_mod
from tests.helpers.vm import lease_of

pytestmark = [pytest.mark.root, pytest.mark.ovn, pytest.mark.docker, pytest.mark.qemu]


def test_vm_and_docker_container_on_one_network(ovnet_docker, vm_image):  # noqa: F811
    d = ovnet_docker
    # An ovnet network with OVN DHCP for the VM, adopted by Docker (the plugin's own subnets leave
    # DHCP off: Docker addresses its containers itself).
    net = d.api.create_network(name=f"mixed-{secrets.token_hex(2)}")
    subnet = d.api.create_subnet(network_id=net["id"], cidr="10.88.0.0/24", ip_version=4)
    network, _ = d.network_create("--subnet", "10.88.0.0/24", "-o", f"ovnet.network={net['id']}")
    port = d.api.create_port(network_id=net["id"], name="vm",
                             fixed_ips=[{"subnet_id": subnet["id"], "ip_address": "10.88.0.100"}])
    container = f"{network}-c"
    name = f"vm-dock-{secrets.token_hex(2)}"
    try:
        record = vm_mod.run(d.settings, name, port["id"])
        assert lease_of(record)["ip"] == "10.88.0.100"
        d.docker("run", "-d", "--name", container, "--network", network, "--ip", "10.88.0.10", "bb", "sleep", "600")
        d.docker("exec", container, "ping", "-c", "3", "-W", "5", "10.88.0.100", timeout=60)
        echo = d.docker("exec", container, "sh", "-c", "printf 'hello from docker' | nc 10.88.0.100 7", timeout=60)
        assert echo.stdout.strip() == f"{name} 17"
    finally:
        d.docker("rm", "-f", container, check=False)
        if vm_mod.load_record(d.settings, name):
            vm_mod.remove(d.settings, name)
        d.api.delete_port(port["id"])
        d.docker("network", "rm", network, check=False)
        d.api.delete_network(net["id"])
