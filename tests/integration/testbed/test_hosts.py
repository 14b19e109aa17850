"""`ovnet host add/remove`: a second chassis in a namespace on this machine, Geneve over a private
underlay, against real OVS/OVN daemons."""

from __future__ import annotations

import os
import secrets
import signal
import time
from pathlib import Path

import pytest
from pyroute2 import IPRoute, netns

from ovnet.runtime import allinone as aio
from ovnet.runtime import hosts, public, underlay
from ovnet.runtime.chassis import local_chassis
from ovnet.runtime.daemon import Service
from ovnet.runtime.process import pid_alive, run, wait_until
from ovnet.testbed import workload
from tests.helpers.handwire import pair_across

pytestmark = [pytest.mark.root, pytest.mark.ovn]


def _leftovers(settings, host_netns: str) -> list[str]:
    """This installation's namespaces and root-namespace links (other tests run alongside)."""
    mark = underlay.tag(settings.state_dir)
    with IPRoute() as ipr:
        links = [link.get_attr("IFLA_IFNAME") for link in ipr.get_links()]
    return [n for n in netns.listnetns() if mark in n or n == host_netns] + [n for n in links if mark in n]


def _processes_using(path: Path) -> list[int]:
    """Pids of live processes whose command line names ``path`` (the host's daemons all do)."""
    found = []
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            if str(path).encode() in (proc / "cmdline").read_bytes() and pid_alive(int(proc.name)):
                found.append(int(proc.name))
        except OSError:
            continue
    return found


def _sb_encaps(settings) -> dict[str, str]:
    rows = run(["ovn-sbctl", f"--db={settings.sb_connection}", "--bare", "--columns=chassis_name,ip", "list", "Encap"])
    fields = rows.split()
    return dict(zip(fields[::2], fields[1::2]))


def _host_name() -> str:
    return f"hv{secrets.token_hex(3)}"


def test_add_remove_leaves_nothing(allinone):
    name = _host_name()

    status = hosts.add(allinone, name)

    assert status.healthy, status.services
    assert _sb_encaps(allinone) == {allinone.chassis_name: "100.64.0.1", name: "100.64.0.2"}
    host = hosts.host_settings(allinone, name)
    assert sorted(_leftovers(allinone, host.netns)) == sorted([host.netns, underlay.segment_netns(allinone.state_dir)])
    assert [h.name for h in hosts.list_hosts(allinone)] == [name]
    pids = [pid for _, pid, _ in status.services]
    assert hosts.add(allinone, name).services == status.services  # idempotent: same processes

    assert hosts.remove(allinone, name) is True

    assert [p for p in pids if pid_alive(p)] == []
    assert _processes_using(host.state_dir) == []
    assert _leftovers(allinone, host.netns) == []
    assert _sb_encaps(allinone) == {allinone.chassis_name: allinone.encap_ip}
    assert not host.state_dir.exists()
    assert hosts.list_hosts(allinone) == []
    assert hosts.remove(allinone, name) is False


def _broken_agent(host):
    """An agent that fails to start: the last thing add() starts, so everything before it must be undone."""
    return [Service(name=hosts.AGENT, argv=["false"], pidfile=host.run_dir / "agent.pid",
                    log=host.log_dir / "agent.log", endpoint="-", health=lambda: None)]


def test_failed_add_leaves_nothing(allinone, monkeypatch):
    monkeypatch.setattr(hosts, "ovnet_services", _broken_agent)
    name = _host_name()
    netns_name = f"ovnet-{name}-{underlay.tag(allinone.state_dir)}"

    with pytest.raises(aio.RuntimeFailure, match="ovnet-agent failed to start"):
        hosts.add(allinone, name)

    assert hosts.host_names(allinone) == []
    assert _leftovers(allinone, netns_name) == []
    assert _sb_encaps(allinone) == {allinone.chassis_name: allinone.encap_ip}
    assert _processes_using(hosts.hosts_root(allinone) / name) == []


def test_remove_after_a_crash_leaves_nothing(allinone):
    name = _host_name()
    status = hosts.add(allinone, name)
    host = hosts.host_settings(allinone, name)
    pids = dict((svc, pid) for svc, pid, _ in status.services)
    os.kill(pids["ovs-vswitchd"], signal.SIGKILL)
    assert wait_until(lambda: None if not pid_alive(pids["ovs-vswitchd"]) else "alive", 30.0) is None

    assert hosts.remove(allinone, name) is True

    assert [p for p in pids.values() if pid_alive(p)] == []
    assert _processes_using(host.state_dir) == []
    assert _leftovers(allinone, host.netns) == []
    assert _sb_encaps(allinone) == {allinone.chassis_name: allinone.encap_ip}


def test_up_after_a_crash_puts_the_allinone_back_on_the_underlay(allinone):
    name = _host_name()
    hosts.add(allinone, name)
    local, remote = local_chassis(allinone), local_chassis(hosts.host_settings(allinone, name))
    wired = pair_across(allinone.nb_connection, local, remote, "10.79.0")
    try:
        # ovn-controller restarted by `up` writes encap-ip=127.0.0.1 again; vswitchd drops br-phy's address.
        killed = [svc.pid() for svc in aio.services(allinone) if svc.name in ("ovs-vswitchd", "ovn-controller")]
        for pid in killed:
            os.kill(pid, signal.SIGKILL)
        assert wait_until(lambda: "alive" if any(pid_alive(p) for p in killed) else None, 30.0) is None

        aio.up(allinone)

        assert _sb_encaps(allinone)[allinone.chassis_name] == "100.64.0.1"
        seen = workload.collect(workload.start_probe(wired[0].netns, "eth0", [wired[1].address], timeout=10.0))
        assert seen[0]["ping"] is True
    finally:
        for w in wired:
            w.remove()


def test_down_stops_hosts(allinone):
    name = _host_name()
    status = hosts.add(allinone, name)
    host_netns = hosts.host_settings(allinone, name).netns

    aio.down(allinone)

    assert [pid for _, pid, _ in status.services if pid_alive(pid)] == []
    assert _leftovers(allinone, host_netns) == []  # no workloads: nothing keeps its namespace
    assert allinone.netns not in netns.listnetns()


def test_bad_names_are_refused(allinone):
    for bad in ("", "UPPER", "has space", "x" * 40, allinone.chassis_name):
        with pytest.raises(ValueError):
            hosts.add(allinone, bad)
    assert hosts.list_hosts(allinone) == []


def test_add_needs_the_allinone(allinone_settings):
    with pytest.raises(aio.RuntimeFailure, match="ovnet up"):
        hosts.add(allinone_settings, _host_name())


def test_tcp_across_the_tunnel(allinone):
    name = _host_name()
    hosts.add(allinone, name)
    local, remote = local_chassis(allinone), local_chassis(hosts.host_settings(allinone, name))
    nbctl = ["ovn-nbctl", f"--db={allinone.nb_connection}", "--timeout=10"]
    wired = []
    server = None
    try:
        started = time.monotonic()
        wired = pair_across(allinone.nb_connection, local, remote, "10.77.0")
        for w in wired:
            run(nbctl + ["wait-until", "Logical_Switch_Port", w.lport, "up=true"], timeout=60)
        ready = time.monotonic() - started
        server = workload.echo_server(wired[1].netns, "far", allinone.run_dir)
        server.start()

        probe = workload.collect(workload.start_probe(wired[0].netns, "eth0", ["10.77.0.11"], timeout=3.0))
        size = 64 * 1024 * 1024
        transfer = workload.send(wired[0].netns, "10.77.0.11", size)
    finally:
        if server:
            server.stop()
        for w in wired:
            w.remove()
    assert probe == [{"ip": "10.77.0.11", "ping": True, "echo": "far"}]
    assert transfer["peer"] == "far" and transfer["bytes"] == size
    # The numbers for the closing note (no timing assert: this machine's load varies).
    print(f"\nports up on both chassis {ready * 1000:.0f} ms after wiring; "
          f"TCP across Geneve {size * 8 / transfer['seconds'] / 1e9:.2f} Gbit/s")


def test_allinone_in_the_root_namespace(tmp_path):
    """`ovnet up` without a fixture namespace: the all-in-one's br-phy and veth end live in the
    root namespace under per-installation names, and go when the last host goes."""
    from tests.helpers.allinone import private_settings

    with IPRoute() as ipr:
        if ipr.link_lookup(ifname="ovs-netdev"):
            pytest.skip("an 'ovs-netdev' tap exists in the root namespace (another userspace-datapath ovs-vswitchd "
                        "or its leftover; a namespace can hold only one); run this test on its own")
    settings = private_settings(tmp_path, netns=None, bridge=f"brt{secrets.token_hex(3)}")
    name = _host_name()
    try:
        aio.up(settings)
        hosts.add(settings, name)
        host_netns = hosts.host_settings(settings, name).netns
        local, remote = local_chassis(settings), local_chassis(hosts.host_settings(settings, name))
        assert underlay.phy_bridge(settings.state_dir, local) in {n for n in _leftovers(settings, "")}
        wired = pair_across(settings.nb_connection, local, remote, "10.78.0")
        try:
            seen = workload.collect(workload.start_probe(wired[0].netns, "eth0", [wired[1].address], timeout=5.0))
            assert seen[0]["ping"] is True
        finally:
            for w in wired:
                w.remove()
        hosts.remove(settings, name)
        # the public network's provider bridge and veth (ovnex*) are the all-in-one chassis' own:
        # they stay until down, checked below
        assert [n for n in _leftovers(settings, host_netns)
                if n != public.provider_bridge(settings, local) and not n.startswith("ovnexv-")] == []
    finally:
        aio.down(settings, purge=True)
    assert _leftovers(settings, host_netns) == []


def test_up_restarts_hosts_after_down_and_status_covers_them(allinone):
    name = _host_name()
    before = hosts.add(allinone, name)
    aio.down(allinone)

    rows = aio.up(allinone)

    host_rows = {r.name: r for r in rows if r.name.startswith(f"{name}/")}
    assert sorted(host_rows) == sorted(f"{name}/{svc}" for svc, _, _ in before.services)
    assert all(r.healthy for r in host_rows.values()), host_rows
    assert all(h.healthy for h in hosts.list_hosts(allinone))
    assert _sb_encaps(allinone) == {allinone.chassis_name: "100.64.0.1", name: "100.64.0.2"}
    assert _ovnet_status(allinone).exit_code == 0
    os.kill(host_rows[f"{name}/ovs-vswitchd"].pid, signal.SIGKILL)
    assert wait_until(lambda: "alive" if pid_alive(host_rows[f"{name}/ovs-vswitchd"].pid) else None, 5.0) is None
    unhealthy = [r.name for r in aio.status(allinone) if not r.healthy]
    assert f"{name}/ovs-vswitchd" in unhealthy
    shown = _ovnet_status(allinone)
    assert shown.exit_code == 1 and f"{name}/ovs-vswitchd" in shown.output


def _ovnet_status(settings):
    from typer.testing import CliRunner

    from ovnet.cli.main import app

    return CliRunner().invoke(app, ["status", "--state-dir", str(settings.state_dir)])


def test_up_that_fails_on_a_host_stops_what_it_started(allinone, monkeypatch):
    name = _host_name()
    hosts.add(allinone, name)
    host_netns = hosts.host_settings(allinone, name).netns
    aio.down(allinone)

    monkeypatch.setattr(hosts, "ovnet_services", _broken_agent)
    with pytest.raises(aio.RuntimeFailure, match="ovnet-agent failed to start"):
        aio.up(allinone)

    assert [svc.name for svc in aio.services(allinone) if svc.pid()] == []
    assert _processes_using(hosts.hosts_root(allinone) / name) == []
    assert _leftovers(allinone, host_netns) == []
    assert hosts.host_names(allinone) == [name]  # the record stays: the next `up` tries again


def test_remove_unbinds_the_ports_bound_to_the_host(allinone):
    from typer.testing import CliRunner

    from ovnet.apiclient import ApiClient
    from ovnet.cli.main import app
    from ovnet.host.agentclient import AgentClient
    from tests.helpers.hostnet import ApiNetwork, wait_status

    name = _host_name()
    hosts.add(allinone, name)
    device = f"ovi{secrets.token_hex(4)}"
    with ApiClient.from_settings(allinone) as api:
        port = ApiNetwork(api, "10.76.0").port(20)
        with AgentClient(hosts.host_settings(allinone, name).agent_socket) as far:
            far.bind(port["id"], "internal", device)
        assert wait_status(api, port["id"], "ACTIVE") == "ACTIVE"

        done = CliRunner().invoke(app, ["host", "remove", name, "--state-dir", str(allinone.state_dir)])

        assert done.exit_code == 0, done.output
        assert f"port {port['id']} unbound" in done.output
        assert api.show_port(port["id"])["binding:host_id"] == ""
        assert wait_status(api, port["id"], "DOWN") == "DOWN"
        with AgentClient(allinone.agent_socket) as near:  # bound elsewhere now
            near.bind(port["id"], "internal", device)
            assert api.show_port(port["id"])["binding:host_id"] == allinone.chassis_name
            near.unbind(port["id"])
    again = CliRunner().invoke(app, ["host", "remove", name, "--state-dir", str(allinone.state_dir)])
    assert again.exit_code == 1 and "no host" in again.output


def test_workloads_on_a_host_survive_down_and_up(allinone):
    """The host-end veths of a host's workloads live in the host's namespace, which `down` keeps
    (as the main host's root namespace stays): after `up` its agent finds them and traffic flows."""
    from ovnet.apiclient import ApiClient
    from ovnet.host.agentclient import AgentClient
    from tests.helpers.hostnet import ApiNetwork, wait_status

    name = _host_name()
    hosts.add(allinone, name)
    host_netns = hosts.host_settings(allinone, name).netns
    made = [f"ovw-{secrets.token_hex(4)}" for _ in range(2)]
    try:
        for ns in made:
            netns.create(ns)
        with ApiClient.from_settings(allinone) as api:
            net = ApiNetwork(api, "10.75.0")
            ports = [net.port(20), net.port(21)]
            with AgentClient(hosts.host_settings(allinone, name).agent_socket) as far:
                for port, ns in zip(ports, made):
                    far.bind(port["id"], "veth", ns)

            aio.down(allinone)

            assert host_netns in netns.listnetns()
            for ns in made:
                with IPRoute(netns=ns) as ipr:
                    assert ipr.link_lookup(ifname="eth0"), f"{ns} lost eth0 at down"

            aio.up(allinone)

            assert [wait_status(api, p["id"], "ACTIVE") for p in ports] == ["ACTIVE", "ACTIVE"]
            seen = workload.collect(workload.start_probe(made[0], "eth0", ["10.75.0.21"], timeout=5.0))
            assert seen[0]["ping"] is True
    finally:
        for ns in made:
            if ns in netns.listnetns():
                netns.remove(ns)

    aio.down(allinone, purge=True)
    assert _leftovers(allinone, host_netns) == []


def test_remove_removes_the_vms_on_the_host_first(allinone):
    """`ovnet host remove` stops the VMs on the host (the test bed's ovnet.host_remove hook) while
    its agent still unbinds their taps; a VM elsewhere stays. A `sleep` stands in for QEMU, as a
    real guest would cost a boot; what the hook sees (record, pidfile, bound tap) is the same."""
    import dataclasses
    import json
    import subprocess

    from typer.testing import CliRunner

    from ovnet.apiclient import ApiClient
    from ovnet.cli.main import app
    from ovnet.host.agentclient import AgentClient
    from ovnet.testbed import vm as vm_mod
    from tests.helpers.hostnet import ApiNetwork

    name = _host_name()
    hosts.add(allinone, name)
    vm_mod.vm_dir(allinone).mkdir(parents=True, exist_ok=True)
    stand_ins = {}

    def fake_vm(vm_name: str, chassis: str, nics: tuple) -> vm_mod.VmRecord:
        stand_ins[vm_name] = subprocess.Popen(["sleep", "600"])
        record = vm_mod.VmRecord(name=vm_name, nics=nics, host=chassis, netns=None,
                                 pidfile=str(vm_mod.vm_dir(allinone) / f"{vm_name}.pid"),
                                 console=str(allinone.log_dir / f"vm-{vm_name}.console.log"),
                                 shell=str(vm_mod.shell_path(allinone, vm_name)))
        Path(record.pidfile).write_text(f"{stand_ins[vm_name].pid}\n")
        (vm_mod.vm_dir(allinone) / f"{vm_name}.json").write_text(json.dumps(dataclasses.asdict(record)))
        return record

    try:
        with ApiClient.from_settings(allinone) as api:
            port = ApiNetwork(api, "10.77.0").port(20)
            with AgentClient(hosts.host_settings(allinone, name).agent_socket) as far:
                tap = far.bind(port["id"], "tap", f"ovt{secrets.token_hex(4)}")["device"]
            there = fake_vm("vm-there", name, (vm_mod.VmNic(port["id"], tap, port["mac_address"]),))
            here = fake_vm("vm-here", allinone.chassis_name, ())

            done = CliRunner().invoke(app, ["host", "remove", name, "--state-dir", str(allinone.state_dir)])

            assert done.exit_code == 0, done.output
            assert "VM vm-there removed" in done.output and "vm-here" not in done.output
            assert stand_ins["vm-there"].wait(timeout=10) is not None
            assert [r.name for r in vm_mod.list_records(allinone)] == [here.name]
            assert stand_ins["vm-here"].poll() is None
            assert api.show_port(there.port_id)["binding:host_id"] == ""
            assert hosts.host_names(allinone) == []
    finally:
        for proc in stand_ins.values():
            proc.kill()
            proc.wait()
