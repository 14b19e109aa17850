"""Fixtures for VM tests: a tap in a private network namespace for boots that need no OVN, and
VMs on the all-in-one. The VM image is tests/e2e/conftest.py's (the CNI tests boot VMs too)."""

from __future__ import annotations

import secrets

import pytest
from pyroute2 import IPRoute, netns


@pytest.fixture
def lone_tap():
    """(netns, tap name): a tap device, up, in a fresh network namespace; removed at teardown."""
    name = f"ovq-{secrets.token_hex(4)}"
    tap = f"tq{secrets.token_hex(4)}"
    netns.create(name)
    try:
        with IPRoute(netns=name) as ipr:
            ipr.link("add", ifname=tap, kind="tuntap", mode="tap")
            ipr.link("set", index=ipr.link_lookup(ifname=tap)[0], state="up")
        yield name, tap
    finally:
        netns.remove(name)


# The API/agent fixtures of the host tests: an admin ApiClient and agent of the all-in-one,
# workload namespaces, networks made through the API.



@pytest.fixture
def vms(allinone, vm_image):
    """Factory ``run(name, port_id, **kwargs) -> VmRecord`` (ovnet.testbed.vm.run on the
    all-in-one); every VM still recorded is removed at teardown, before the all-in-one goes."""
    from ovnet.testbed import vm as vm_mod

    def run(name: str, port_id: str, **kwargs):
        return vm_mod.run(allinone, f"{name}-{secrets.token_hex(2)}", port_id, **kwargs)

    yield run
    vm_mod.stop_all(allinone)
