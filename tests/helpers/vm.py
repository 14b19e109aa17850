"""Checks on a booted test VM: its DHCP lease from the console, its first ping, a namespace workload."""

from __future__ import annotations

import time
from pathlib import Path

from ovnet.testbed import qemu
from ovnet.testbed import vm as vm_mod
from ovnet.testbed.initscript import LINE_LEASE
from tests.helpers.hostnet import ns_run
from tests.helpers.wait import wait_for

BOOT_TIMEOUT = 180.0  # s: a TCG boot takes ~2 s idle, far longer on a loaded 2-core host


def lease_of(record: vm_mod.VmRecord) -> dict[str, str]:
    """The DHCP lease the VM printed on its console (fails the test when none came)."""
    line = qemu.wait_console(Path(record.console), LINE_LEASE, BOOT_TIMEOUT)
    assert line is not None, f"no DHCP lease; console:\n{Path(record.console).read_text()[-3000:]}"
    return qemu.parse_lease(line)


def first_ping(ns: str, address: str, timeout: float = BOOT_TIMEOUT) -> float:
    """Seconds until ``address`` first answers a ping from ``ns``."""
    started = time.monotonic()
    wait_for(lambda: ns_run(ns, "ping", "-n", "-q", "-c1", "-W1", address, check=False).returncode == 0, timeout,
             interval=0, what=f"{address} to answer a ping from {ns}")
    return time.monotonic() - started


def plug_namespace(agent, make_netns, port: dict) -> str:
    """A new workload namespace with ``port`` bound in it as a veth; returns its name."""
    ns = make_netns("ovw")
    agent.bind(port["id"], "veth", ns)
    return ns
