"""`ovnet demo` end to end against a private all-in-one: the seed picture on real packets over two
chassis, two of its workloads real QEMU VMs, then `--clean` leaves nothing behind; a build that
fails half-way removes what it made."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from pyroute2 import IPRoute, netns

from ovnet.apiclient import ApiClient, ApiError
from ovnet.cli.demo import member_tokens
from ovnet.runtime import hosts, underlay
from ovnet.runtime.process import pid_alive, read_pid, wait_until
from ovnet.testbed import demo, seed, vm

pytestmark = [pytest.mark.root, pytest.mark.ovn, pytest.mark.qemu]
VMS = {w.name: w for w in seed.WORKLOADS if w.kind == "vm"}


@pytest.fixture(autouse=True)
def no_vm_left(allinone_settings):
    """QEMU runs detached: stop any VM a failed test left, before the all-in-one goes."""
    yield
    vm.stop_all(allinone_settings)


def _ovnet(settings, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ovnet.cli.main", *args, "--state-dir", str(settings.state_dir)],
                          capture_output=True, text=True, timeout=300, env={**os.environ, "COLUMNS": "200"})


def _mine(settings) -> list[str]:
    mark = underlay.tag(settings.state_dir)
    return [n for n in netns.listnetns() if mark in n]


def _qemu_vms(settings) -> dict[str, tuple[int, vm.VmRecord]]:
    """The recorded VMs whose pid is a running qemu-system-x86_64 using their taps: name -> (pid, record)."""
    running = {}
    for record in vm.list_records(settings):
        pid = record.pid()
        if pid is None:
            continue
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        taps = [n.tap for n in record.nics]
        uses_taps = all(any(f"ifname={t},".encode() in a for a in argv) for t in taps)
        if argv[0].endswith(b"qemu-system-x86_64") and uses_taps:
            running[record.name] = (pid, record)
    return running


def _taps_left(records: list[vm.VmRecord]) -> list[str]:
    """The VMs' taps that still exist (a removed host took its namespace and taps with it)."""
    left = []
    for record in records:
        if record.netns and record.netns not in netns.listnetns():
            continue
        with IPRoute(netns=record.netns) if record.netns else IPRoute() as ipr:
            left += [n.tap for n in record.nics if ipr.link_lookup(ifname=n.tap)]
    return left


def _resources(settings) -> list[str]:
    with ApiClient.from_settings(settings) as admin:
        return [n["name"] for n in admin.list_networks()] + [p["name"] for p in admin.list_ports()]


def test_demo_keep_then_clean(allinone):
    host = f"hv{secrets.token_hex(3)}"

    kept = _ovnet(allinone, "demo", "--keep", "--host", host)

    print(kept.stdout, kept.stderr)
    assert kept.returncode == 0, kept.stderr
    pairs = len(seed.pairs())
    assert f"{pairs}/{pairs} cells as expected" in kept.stdout
    assert "✗" not in kept.stdout
    names = {demo.workload_netns(allinone, w.name) for w in seed.WORKLOADS if w.kind == "netns"}
    assert names <= set(netns.listnetns())
    assert host in hosts.host_names(allinone)
    echo_pids = [read_pid(p) for p in (allinone.state_dir / demo.DEMO_DIR).glob("echo-*.pid")]
    assert len(echo_pids) == len(seed.WORKLOADS) - len(VMS) and all(pid_alive(p) for p in echo_pids)
    assert len(_resources(allinone)) == 4 + len(seed.nics())
    # A-vm2 (two NICs, on the added host) and B-vm3 are real QEMU processes on their ports' taps
    qemus = _qemu_vms(allinone)
    assert sorted(qemus) == sorted(VMS) == ["A-vm2", "B-vm3"]
    for name, (_pid, record) in qemus.items():
        assert len(record.nics) == len(VMS[name].nics)
        assert record.host == (host if VMS[name].hypervisor else allinone.chassis_name)
    assert "A-vm2 (VM)" in kept.stdout

    cleaned = _ovnet(allinone, "demo", "--clean")

    assert cleaned.returncode == 0, cleaned.stderr
    assert _mine(allinone) == []
    assert [p for p in echo_pids if pid_alive(p)] == []
    assert [name for name, (pid, _) in qemus.items() if pid_alive(pid)] == []
    assert vm.list_records(allinone) == []
    assert _taps_left([record for _, record in qemus.values()]) == []
    assert hosts.host_names(allinone) == []
    assert _resources(allinone) == []
    assert not (allinone.state_dir / demo.DEMO_DIR).exists()
    assert _ovnet(allinone, "demo", "--clean").stdout.strip() == "no demo to remove"


def test_failed_build_leaves_nothing(allinone):
    tokens = member_tokens(allinone)
    tokens["tenant-b"] = "not-a-token"

    with pytest.raises(ApiError) as failure:
        demo.run(allinone, tokens, f"hv{secrets.token_hex(3)}")

    assert failure.value.status == 401
    assert _resources(allinone) == []
    assert _mine(allinone) == []
    assert hosts.host_names(allinone) == []
    assert vm.list_records(allinone) == []
    assert not (allinone.state_dir / demo.DEMO_DIR).exists()


def test_demo_needs_ovnet_up(allinone_settings):
    allinone_settings.save()
    refused = _ovnet(allinone_settings, "demo")
    assert refused.returncode == 1
    assert "ovnet up" in refused.stderr


def test_down_takes_a_kept_demo_with_it(allinone):
    kept = _ovnet(allinone, "demo", "--keep", "--host", f"hv{secrets.token_hex(3)}")
    assert kept.returncode == 0, kept.stderr
    echo_pids = [read_pid(p) for p in (allinone.state_dir / demo.DEMO_DIR).glob("echo-*.pid")]
    host_pids = [pid for h in hosts.list_hosts(allinone) for _, pid, _ in h.services]
    qemu_pids = [pid for pid, _ in _qemu_vms(allinone).values()]
    assert echo_pids and host_pids and len(qemu_pids) == len(VMS)

    down = _ovnet(allinone, "down")

    assert down.returncode == 0, down.stderr
    assert _mine(allinone) == []
    assert [p for p in host_pids + qemu_pids if pid_alive(p)] == []
    assert vm.list_records(allinone) == []
    # An echo server exits within its 1 s watch once its namespace is gone.
    assert wait_until(lambda: None if not any(pid_alive(p) for p in echo_pids) else "alive", 5.0) is None
