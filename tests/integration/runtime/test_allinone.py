"""The all-in-one runtime against real OVS/OVN daemons: up, status, down, and how it fails."""

from __future__ import annotations

import errno
import json
import os
import signal
import socket
import subprocess
import sys

import pytest
from pyroute2 import IPRoute, netns

from ovnet.runtime import allinone as aio
from ovnet.runtime import owned
from ovnet.runtime.daemon import Service
from ovnet.runtime.process import RuntimeFailure, pid_alive, run, wait_until
from tests.helpers.allinone import private_settings

pytestmark = [pytest.mark.root, pytest.mark.ovn]


def _pids(settings) -> dict[str, int]:
    return {svc.name: svc.pid() for svc in aio.services(settings)}


def test_up_status_down_leaves_nothing(allinone_settings):
    rows = aio.up(allinone_settings)
    assert [r.name for r in rows if not r.healthy] == []
    assert all(r.alive and r.pid for r in rows if r.name != "public-network")  # that row is no process
    assert "public-network" in [r.name for r in rows]
    chassis = run(["ovn-sbctl", f"--db={allinone_settings.sb_connection}", "--bare", "--columns=name", "list",
                   "Chassis"])
    assert chassis.split() == [allinone_settings.chassis_name]
    pids = [r.pid for r in rows]
    pidfiles = [svc.pidfile for svc in aio.services(allinone_settings)]

    aio.down(allinone_settings)

    assert [p for p in pids if pid_alive(p)] == []
    assert [p for p in pidfiles if p.exists()] == []
    assert allinone_settings.netns not in netns.listnetns()  # and with it the netdev br-int
    assert all(not r.alive for r in aio.status(allinone_settings))


def test_down_removes_the_namespaces_even_when_stopping_a_service_fails(tmp_path, monkeypatch):
    """A stop that raises (CI met ESRCH while a stopped process's threads vanished) must not
    strand the all-in-one's namespaces: down removes them, then raises, keeping the state dir."""
    settings = private_settings(tmp_path)
    for name in (settings.netns, settings.public_netns):
        owned.ensure_netns(settings.state_dir, name)

    def failing_stop(self):
        raise ProcessLookupError(errno.ESRCH, "No such process")

    monkeypatch.setattr(Service, "stop", failing_stop)
    try:
        with pytest.raises(ProcessLookupError):
            aio.down(settings, purge=True)
        assert {settings.netns, settings.public_netns} & set(netns.listnetns()) == set()
        assert settings.state_dir.exists()
    finally:
        monkeypatch.undo()
        aio.down(settings, purge=True)


def test_bridge_in_root_namespace_is_removed_and_a_second_one_refused(tmp_path):
    with IPRoute() as ipr:
        if ipr.link_lookup(ifname="ovs-netdev"):
            pytest.skip("a userspace-datapath ovs-vswitchd already runs in the root namespace "
                        "(e.g. a running `ovnet up`); this test needs the root namespace to itself")
    bridge = "brt" + os.urandom(3).hex()
    settings = private_settings(tmp_path / "one", netns=None, bridge=bridge)
    second = private_settings(tmp_path / "two", netns=None, bridge="brt" + os.urandom(3).hex())
    try:
        aio.up(settings)
        assert subprocess.run(["ip", "link", "show", bridge], capture_output=True).returncode == 0
        with pytest.raises(RuntimeFailure, match="another ovs-vswitchd runs in this network namespace"):
            aio.up(second)
        assert all(not r.alive for r in aio.status(second))
    finally:
        aio.down(second, purge=True)
        aio.down(settings, purge=True)
    assert subprocess.run(["ip", "link", "show", bridge], capture_output=True).returncode != 0
    # the userspace vswitchd's persistent tap goes with it, so the next root-namespace up starts clean
    assert subprocess.run(["ip", "link", "show", "ovs-netdev"], capture_output=True).returncode != 0
    assert not settings.state_dir.exists()


def test_up_twice_keeps_the_same_processes(allinone):
    before = _pids(allinone)
    rows = aio.up(allinone)
    assert _pids(allinone) == before
    assert all(r.healthy for r in rows)


def test_down_twice_is_harmless(allinone):
    aio.down(allinone)
    aio.down(allinone)
    assert all(not r.alive for r in aio.status(allinone))


def test_port_in_use_fails_cleanly(allinone_settings):
    holder = socket.socket()
    holder.bind((allinone_settings.listen_host, allinone_settings.sb_port))
    holder.listen()
    try:
        with pytest.raises(RuntimeFailure, match=f"port {allinone_settings.sb_port} .* already in use"):
            aio.up(allinone_settings)
    finally:
        holder.close()
    assert all(not r.alive for r in aio.status(allinone_settings))
    assert not allinone_settings.state_dir.exists()  # it did not exist before: no lock, no datapath left


def test_a_failed_up_in_an_existing_state_dir_keeps_it_but_not_its_datapath_record(allinone_settings):
    allinone_settings.state_dir.mkdir(parents=True)
    (allinone_settings.state_dir / "mine").write_text("kept\n")
    holder = socket.socket()
    holder.bind((allinone_settings.listen_host, allinone_settings.nb_port))
    holder.listen()
    try:
        with pytest.raises(RuntimeFailure, match="already in use"):
            aio.up(allinone_settings)
    finally:
        holder.close()
    left = sorted(p.name for p in allinone_settings.state_dir.iterdir())
    assert "mine" in left and "datapath" not in left, left


def test_failure_midway_stops_what_was_started(allinone_settings, monkeypatch):
    # ovn-controller cannot become healthy when SB points nowhere: everything started must go again.
    from ovnet.runtime import chassis, roles

    real = chassis.chassis_services

    def broken(spec):
        services = real(spec)
        services[-1].start_timeout = 2.0
        services[-1].argv.append("--invalid-option-for-test")
        return services

    monkeypatch.setattr(roles, "chassis_services", broken)  # roles says what up starts
    with pytest.raises(RuntimeFailure, match="ovn-controller"):
        aio.up(allinone_settings)
    assert all(not r.alive for r in aio.status(allinone_settings))
    assert allinone_settings.netns not in netns.listnetns()


def test_missing_binary_names_the_package(allinone_settings, monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(RuntimeFailure, match=r"not found: install the Debian package"):
        aio.up(allinone_settings)
    assert all(not r.alive for r in aio.status(allinone_settings))


def test_killed_northd_is_reported_unhealthy(allinone):
    northd = next(s for s in aio.services(allinone) if s.name == "ovn-northd")
    os.kill(northd.pid(), signal.SIGKILL)
    rows = {r.name: r for r in aio.status(allinone)}
    assert not rows["ovn-northd"].healthy
    assert rows["ovn-northd"].reason == "not running"
    assert rows["ovsdb-nb"].healthy


def test_cli_up_status_down(allinone_settings):
    env = {**os.environ, "OVNET_STATE_DIR": str(allinone_settings.state_dir)}
    allinone_settings.save()  # the CLI reads ports and netns from the settings file
    ovnet = [sys.executable, "-m", "ovnet.cli.main"]
    up = subprocess.run(ovnet + ["up"], env=env, capture_output=True, text=True, timeout=120)
    assert up.returncode == 0, up.stderr
    assert "datapath: netdev" in up.stdout or "datapath: system" in up.stdout
    assert "  ovsdb-nb started" in up.stdout and "  ovnet-agent started" in up.stdout  # progress, one line each
    status = subprocess.run(ovnet + ["status", "--json"], env=env, capture_output=True, text=True, timeout=60)
    assert status.returncode == 0
    assert {r["name"] for r in json.loads(status.stdout)} >= {"ovsdb-nb", "ovn-northd", "ovn-controller"}
    down = subprocess.run(ovnet + ["down"], env=env, capture_output=True, text=True, timeout=60)
    assert down.returncode == 0
    after = subprocess.run(ovnet + ["status"], env=env, capture_output=True, text=True, timeout=60)
    assert after.returncode == 1


def test_up_restarts_only_what_died(allinone):
    before = _pids(allinone)
    northd = next(s for s in aio.services(allinone) if s.name == "ovn-northd")
    os.kill(northd.pid(), signal.SIGKILL)
    rows = {r.name: r for r in aio.up(allinone)}
    assert rows["ovn-northd"].healthy and rows["ovn-northd"].pid != before["ovn-northd"]
    after = _pids(allinone)
    assert {k: v for k, v in after.items() if k != "ovn-northd"} == {
        k: v for k, v in before.items() if k != "ovn-northd"}


def test_up_recovers_a_killed_userspace_vswitchd(allinone):
    # A SIGKILLed userspace-datapath vswitchd leaves its persistent "ovs-netdev" tap behind; up
    # must clear it, or the new vswitchd never creates its bridges.
    vswitchd = next(s for s in aio.services(allinone) if s.name == "ovs-vswitchd")
    pid = vswitchd.pid()
    os.kill(pid, signal.SIGKILL)
    assert wait_until(lambda: "alive" if pid_alive(pid) else None, 30.0) is None
    with IPRoute(netns=allinone.netns) as ipr:
        assert ipr.link_lookup(ifname="ovs-netdev"), "the crash should leave ovs-netdev behind"
    rows = {r.name: r for r in aio.up(allinone)}
    assert rows["ovs-vswitchd"].healthy and rows["ovn-controller"].healthy
    with IPRoute(netns=allinone.netns) as ipr:
        assert wait_until(lambda: None if ipr.link_lookup(ifname=allinone.bridge) else "no bridge", 30.0) is None


def _reason(settings, name: str) -> str | None:
    row = {r.name: r for r in aio.status(settings)}[name]
    return None if row.healthy else row.reason


def test_status_is_unhealthy_while_nb_is_disconnected(allinone):
    """The API server still answers while its syncer has lost OVN NB, but status says so."""
    assert _reason(allinone, "ovnet-server") is None
    nb = next(s for s in aio.services(allinone) if s.name == "ovsdb-nb")
    os.kill(nb.pid(), signal.SIGKILL)
    assert wait_until(lambda: None if _reason(allinone, "ovnet-server") else "still healthy", 60.0) is None
    assert "not connected to OVN NB" in _reason(allinone, "ovnet-server")
    aio.up(allinone)  # restarts NB; the syncer reconnects
    assert wait_until(lambda: _reason(allinone, "ovnet-server"), 30.0) is None


def test_status_is_unhealthy_when_the_public_wiring_is_gone_and_up_repairs_it(allinone):
    ns = allinone.public_netns
    assert _reason(allinone, "public-network") is None
    with IPRoute(netns=ns) as pub:
        pub.link("del", index=pub.link_lookup(ifname=f"ex{aio.PUBLIC_INDEX}")[0])
    assert _reason(allinone, "public-network") == f"veth ex{aio.PUBLIC_INDEX} in {ns} is gone"
    aio.up(allinone)
    assert _reason(allinone, "public-network") is None
    netns.remove(ns)
    assert _reason(allinone, "public-network") == f"public namespace {ns} is gone"
    env = {**os.environ, "OVNET_STATE_DIR": str(allinone.state_dir)}
    status = subprocess.run([sys.executable, "-m", "ovnet.cli.main", "status", "--json"], env=env,
                            capture_output=True, text=True, timeout=60)
    assert status.returncode == 1
    assert {r["name"]: r["healthy"] for r in json.loads(status.stdout)}["public-network"] is False
    aio.up(allinone)
    assert _reason(allinone, "public-network") is None
    with IPRoute(netns=allinone.netns) as ipr:
        ipr.link("del", index=ipr.link_lookup(ifname="br-ex")[0])
    assert _reason(allinone, "public-network") == "provider bridge br-ex is gone"


def test_a_failed_up_does_not_remember_a_busy_port(allinone_settings):
    from ovnet.config import load_settings

    allinone_settings.save()  # what an earlier `ovnet up` left
    holder = socket.socket()
    holder.bind((allinone_settings.listen_host, 0))
    holder.listen()
    busy = holder.getsockname()[1]
    env = {**os.environ, "OVNET_STATE_DIR": str(allinone_settings.state_dir)}
    try:
        up = subprocess.run([sys.executable, "-m", "ovnet.cli.main", "up", "--nb-port", str(busy)], env=env,
                            capture_output=True, text=True, timeout=120)
    finally:
        holder.close()
    assert up.returncode == 1 and f"port {busy}" in up.stdout + up.stderr
    assert load_settings(allinone_settings.state_dir).nb_port == allinone_settings.nb_port
    assert all(not r.alive for r in aio.status(allinone_settings))
