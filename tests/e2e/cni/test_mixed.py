"""One ovnet network holding a Podman container (CNI), a Docker container (libnetwork plugin) and a
QEMU VM on a second hypervisor: every pair reaches every other across Geneve; a second project's
Podman container with the same addresses on the same CIDR reaches none of them."""

from __future__ import annotations

import secrets
import time

import pytest

from ovnet.runtime import hosts
from ovnet.testbed import vm as vm_mod
from ovnet.testbed.podman import PrivatePodman
from tests.e2e.cni.conftest import ovnet_cli
from tests.helpers.wait import wait_for

pytestmark = [pytest.mark.root, pytest.mark.ovn, pytest.mark.docker, pytest.mark.podman, pytest.mark.qemu]

BOOT_TIMEOUT = 180.0  # s: a TCG boot takes ~2 s idle, far longer on a loaded 2-core host


def _wait_ping(run, target: str, timeout: float = BOOT_TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if run("ping", "-c", "1", "-W", "1", target).returncode == 0:
            return
    raise AssertionError(f"{target} never answered within {timeout:g} s")


def test_podman_docker_and_vm_on_one_network_and_a_second_project_isolated(ovnet_docker, vm_image, tmp_path):  # noqa: F811
    d = ovnet_docker
    tag = secrets.token_hex(2)
    hv2 = f"hv{tag}"
    net = d.api.create_network(name=f"mix-{tag}")
    subnet = d.api.create_subnet(network_id=net["id"], cidr="10.91.0.0/24", ip_version=4)
    ovnet_cli(d.settings, "project", "create", f"other-{tag}")
    other_project = d.api.find_project(f"other-{tag}")["id"]
    other_net = d.api.create_network(name=f"mix-{tag}", project_id=other_project)
    d.api.create_subnet(network_id=other_net["id"], cidr="10.91.0.0/24", ip_version=4, project_id=other_project)
    conf_dir, bin_dir = tmp_path / "net.d", tmp_path / "bin"
    ovnet_cli(d.settings, "cni", "install", net["id"], "--name", f"mixa-{tag}", "--conf-dir", str(conf_dir),
              "--bin-dir", str(bin_dir))
    ovnet_cli(d.settings, "cni", "install", other_net["id"], "--project", f"other-{tag}", "--name", f"mixb-{tag}",
              "--conf-dir", str(conf_dir), "--bin-dir", str(bin_dir))
    docker_net, _ = d.network_create("--subnet", "10.91.0.0/24", "-o", f"ovnet.network={net['id']}")
    vm_port = d.api.create_port(network_id=net["id"], fixed_ips=[{"subnet_id": subnet["id"], "ip_address": "10.91.0.100"}])
    podman = PrivatePodman(conf_dir, [bin_dir])
    vm_name = f"mixvm-{tag}"
    docker_ctr = f"{docker_net}-c"
    try:
        podman.import_busybox()
        hosts.add(d.settings, hv2)
        vm_mod.run(d.settings, vm_name, vm_port["id"], host=hv2)
        d.docker("run", "-d", "--name", docker_ctr, "--network", docker_net, "--ip", "10.91.0.10", "bb", "sleep", "900")
        pa = podman.podman("run", "-d", "--network", f"mixa-{tag}", "--ip", "10.91.0.20", "localhost/bb",
                           "sleep", "900").stdout.strip()
        # project B: the same two addresses, on its own network of the same CIDR
        pb = podman.podman("run", "-d", "--network", f"mixb-{tag}", "--ip", "10.91.0.10", "localhost/bb",
                           "sleep", "900").stdout.strip()
        podman.podman("run", "-d", "--network", f"mixb-{tag}", "--ip", "10.91.0.100", "localhost/bb", "sleep", "900")

        def in_docker(*argv):
            return d.docker("exec", docker_ctr, *argv, check=False, timeout=60)

        def in_podman(cid):
            return lambda *argv: podman.podman("exec", cid, *argv, check=False, timeout=60)

        _wait_ping(in_docker, "10.91.0.100")  # docker -> VM on hv2, once it booted
        _wait_ping(in_podman(pa), "10.91.0.100", timeout=30)  # podman -> VM
        _wait_ping(in_docker, "10.91.0.20", timeout=30)  # docker -> podman
        _wait_ping(in_podman(pa), "10.91.0.10", timeout=30)  # podman -> docker
        echo = in_podman(pa)("sh", "-c", "printf 'hello from podman' | nc 10.91.0.100 7")
        assert echo.stdout.strip() == f"{vm_name} 17", echo  # the VM's TCP echo answers podman
        # The VM's replies reached both containers (its direction of each pair); podman's side
        # learned the VM's MAC, which project B's container must never see.
        vm_mac = d.api.show_port(vm_port["id"])["mac_address"]
        assert vm_mac in in_podman(pa)("ip", "neigh").stdout

        # Project B's container with A's docker address sees only B: A's podman (.20) is absent
        # there, and the .100 it reaches is B's own container, not A's VM.
        assert in_podman(pb)("ping", "-c", "2", "-W", "1", "10.91.0.20").returncode != 0
        _wait_ping(in_podman(pb), "10.91.0.100", timeout=30)
        assert vm_mac not in in_podman(pb)("ip", "neigh").stdout
        assert in_podman(pb)("sh", "-c", "printf x | nc -w 2 10.91.0.100 7").stdout.strip() == ""
    finally:
        podman.destroy()
        d.docker("rm", "-f", docker_ctr, check=False)
        if vm_mod.load_record(d.settings, vm_name):
            vm_mod.remove(d.settings, vm_name)
        if hv2 in hosts.host_names(d.settings):
            hosts.remove(d.settings, hv2)
        d.docker("network", "rm", docker_net, check=False)
        for port in d.api.list_ports(network_id=[net["id"], other_net["id"]]):
            d.api.delete_port(port["id"])
        d.api.delete_network(net["id"])
        d.api.delete_network(other_net["id"])
    # podman's DELs answered; the agent deletes their ports right after: well within 15 s on a loaded
    # machine, long before the 60 s sweep would.
    assert wait_for(lambda: not d.api.list_ports(device_owner="compute:cni"), 15.0)
