"""`ovnet demo` end to end against a private all-in-one: the seed picture on real packets over two
chassis, two of its workloads real QEMU VMs and one a real Docker container of a private dockerd,
routers, floating IPs and security groups, the outside host, ovnet trace agreeing on every cell;
then `--clean` leaves nothing behind (projects included); a build that fails half-way removes what
it made."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from pyroute2 import IPRoute, netns

from ovnet.apiclient import ApiClient, ApiError
from ovnet.cli.demo import fresh_tokens, member_tokens
from ovnet.runtime import hosts, underlay
from ovnet.host.vif import veth_host_name
from ovnet.runtime.process import RuntimeFailure, pid_alive, read_pid, wait_until
from ovnet.testbed import cnicontainer, container, demo, seed, vm

pytestmark = [pytest.mark.root, pytest.mark.ovn, pytest.mark.qemu, pytest.mark.docker, pytest.mark.podman]
VMS = {w.name: w for w in seed.WORKLOADS if w.kind == "vm"}
CONTAINERS = {w.name: w for w in seed.WORKLOADS if w.kind == "docker"}
PODMAN = {w.name: w for w in seed.WORKLOADS if w.kind == "podman"}
# the cells: only the floating IPs' number matters (addresses come at run time)
CELLS = len(seed.pairs(seed.World(seed.outside_nic("10.50.50.1"), dict.fromkeys(seed.FLOATING, "-"), {})))


@pytest.fixture(autouse=True)
def no_vm_left(allinone_settings):
    """QEMU, dockerd and Podman's containers run detached: stop any VM, the dockerd and the Podman
    containers a failed test left, before the all-in-one goes."""
    yield
    demo.stop_docker(allinone_settings)
    demo.stop_podman(allinone_settings)
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


def _docker_processes(settings) -> dict[str, int]:
    """The recorded demo's dockerd and containerd pids, each checked to be that program serving
    the recorded root: name -> pid."""
    engine = demo.docker_engine(settings)
    pids = {"dockerd": read_pid(engine.pidfile), "containerd": read_pid(engine.containerd_pidfile)}
    for name, pid in pids.items():
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        assert Path(argv[0].decode()).name == name and any(str(engine.root).encode() in a for a in argv), argv
    return pids


def _container(settings, host: str, wl: seed.Workload) -> int:
    """Assert ``wl`` runs as a container of the demo's dockerd on the host's ovnet plugin, at its
    address, with its port ACTIVE and bound to ``host``, its veth on that host; returns its pid."""
    engine = demo.docker_engine(settings)
    state = json.loads(engine.docker("inspect", wl.name).stdout)[0]
    assert state["State"]["Running"] and state["Config"]["Image"] == container.IMAGE
    (network, attached), = state["NetworkSettings"]["Networks"].items()
    assert attached["IPAddress"] == wl.nics[0].address
    plugin = hosts.host_settings(settings, host).docker_plugin
    assert engine.docker("network", "inspect", "-f", "{{.Driver}}", network).stdout.strip() == plugin
    pid = state["State"]["Pid"]
    with IPRoute(netns=container.netns_path(pid)) as ipr:
        eth0 = ipr.link_lookup(ifname="eth0")
        assert [a.get_attr("IFA_ADDRESS") for a in ipr.get_addr(index=eth0[0], family=2)] == [wl.nics[0].address]
    with ApiClient.from_settings(settings) as admin:
        port, = admin.list_ports(device_id=attached["EndpointID"])
        network_project = admin.list_networks(id=port["network_id"])[0]["project_id"]
    assert port["status"] == "ACTIVE" and port["binding:host_id"] == host
    assert port["project_id"] == network_project
    with IPRoute(netns=hosts.host_settings(settings, host).netns) as ipr:
        assert ipr.link_lookup(ifname=veth_host_name(port["id"]))
    return pid


def _podman_container(settings, host: str, wl) -> int:
    """Assert ``wl`` runs as a Podman container at its address whose port (compute:cni, device_id
    the container id) is its project's, ACTIVE on ``host``; return the container's pid."""
    podman = cnicontainer.engine(Path(demo.Record.load(settings).podman_root))
    state = json.loads(podman.podman("inspect", wl.name).stdout)[0]
    assert state["State"]["Running"]
    assert state["NetworkSettings"]["Networks"][cnicontainer.CNI_NETWORK]["IPAddress"] == wl.nics[0].address
    with ApiClient.from_settings(settings) as admin:
        port, = admin.list_ports(device_id=state["Id"])
        network = admin.list_networks(id=port["network_id"])[0]
    assert port["device_owner"] == "compute:cni" and port["status"] == "ACTIVE"
    assert port["binding:host_id"] == host and port["project_id"] == network["project_id"]
    return state["State"]["Pid"]


def _resources(settings) -> list[str]:
    """Every network, port, router, floating IP, group and project but the admin's own."""
    with ApiClient.from_settings(settings) as admin:
        admin_project = admin.list_projects("admin")[0]["id"]
        return [n["name"] for n in admin.list_networks()] + [p["name"] for p in admin.list_ports()] + \
            [r["name"] for r in admin.list("routers")] + [f["floating_ip_address"] for f in admin.list("floatingips")] + \
            [g["name"] for g in admin.list("security-groups") if g["project_id"] != admin_project] + \
            [p["name"] for p in admin.list_projects() if p["id"] != admin_project]


def test_demo_keep_then_clean(allinone):
    host = f"hv{secrets.token_hex(3)}"

    kept = _ovnet(allinone, "demo", "--keep", "--host", host)

    print(kept.stdout, kept.stderr)
    assert kept.returncode == 0, kept.stderr
    assert f"{CELLS}/{CELLS} cells as expected" in kept.stdout
    assert f"ovnet trace agrees on {CELLS}/{CELLS}" in kept.stdout
    rows = [line.split("│")[1] for line in kept.stdout.splitlines() if "│" in line]
    assert len(rows) == len(seed.nics()) + 1 + len(seed.FLOATING)  # the outside host, the floating IPs
    assert not any("✗" in row for row in rows)  # the legend names ✗ too
    assert {"n", "r", "f", "s", "b", "·"} <= {mark for row in rows for mark in row.split()}
    lines = kept.stdout.splitlines()
    blocked = [i for i, line in enumerate(lines) if "blocked by group default; ovnet trace:" in line]
    assert len(blocked) == 1 and lines[blocked[0]].startswith("outside -> A-vm3 fip")
    assert "no rule of the security groups" in " ".join(line.strip() for line in lines[blocked[0]:blocked[0] + 3])
    # the matrix, legend, blocked cell, summary and timings fit 100 columns (progress and the kept
    # workloads' names are free text)
    first = next(i for i, line in enumerate(lines) if "│" in line) - 2
    summary = lines.index(next(line for line in lines if "cells as expected" in line))
    assert all(len(line) <= 100 for line in lines[first:summary + 3])
    names = {demo.workload_netns(allinone, w.name) for w in seed.WORKLOADS if w.kind == "netns"}
    assert names <= set(netns.listnetns())
    assert host in hosts.host_names(allinone)
    echo_pids = [read_pid(p) for p in (allinone.state_dir / demo.DEMO_DIR).glob("echo-*.pid")]
    assert len(echo_pids) == len(seed.WORKLOADS) - len(VMS) - len(CONTAINERS) - len(PODMAN) + 1  # + the outside host
    assert all(pid_alive(p) for p in echo_pids)
    with ApiClient.from_settings(allinone) as admin:
        public = admin.list_networks(name=seed.PUBLIC_NETWORK)
        assert [(n["router:external"], n["provider:network_type"]) for n in public] == [(True, "flat")]
        routers = admin.list("routers")
        assert len(routers) == len(seed.NETWORKS) and all(
            r["external_gateway_info"]["network_id"] == public[0]["id"] and r["external_gateway_info"]["enable_snat"]
            for r in routers)
        assert len(admin.list("floatingips")) == len(seed.FLOATING)
        assert len(admin.list("security-groups", name=seed.OPEN_GROUP)) == len(seed.NETWORKS)
        floating = [f["floating_ip_address"] for f in admin.list("floatingips")]
    # `ovnet trace` from the outside host: the closed floating IP's "no rule" step is told once, and
    # a port name after --from outside is asked to be a floating IP (new-user findings)
    from_outside = [_ovnet(allinone, "trace", "--from", "outside", "--to", address) for address in floating]
    assert sorted(t.returncode for t in from_outside) == sorted(0 if o else 1 for o in seed.FLOATING.values())
    closed = next(t for t in from_outside if t.returncode == 1)
    steps = [line for line in closed.stdout.splitlines() if line.startswith("  - ")]
    assert sum("no rule of the security groups" in line for line in steps) == 1, closed.stdout
    to_a_name = _ovnet(allinone, "trace", "--from", "outside", "--to", "A-vm1")
    assert to_a_name.returncode == 2 and to_a_name.stderr == \
        "error: --from outside needs --to a floating IP address, not 'A-vm1'\n", to_a_name.stderr
    # a workload by its name, as the README's example has it (new-user finding: "no port or workload");
    # the two-NIC A-vm2 is refused with its two ports listed
    by_name = _ovnet(allinone, "trace", "--from", "A-vm1", "--to", "192.168.1.5")
    assert by_name.returncode == 0 and "verdict: delivered" in by_name.stdout, by_name.stderr
    two_nics = _ovnet(allinone, "trace", "--from", "A-vm2", "--to", "192.168.1.3")
    assert two_nics.returncode == 2 and two_nics.stderr.startswith(
        "error: 2 ports of workload 'A-vm2'; give a port id:\n"), two_nics.stderr
    assert all(f"\n  A-vm2-eth{i}: port " in two_nics.stderr for i in (0, 1)), two_nics.stderr
    _trace_across_routers(allinone)
    # A-vm2 (two NICs, on the added host) and B-vm3 are real QEMU processes on their ports' taps
    qemus = _qemu_vms(allinone)
    assert sorted(qemus) == sorted(VMS) == ["A-vm2", "B-vm3"]
    for name, (_pid, record) in qemus.items():
        assert len(record.nics) == len(VMS[name].nics)
        assert record.host == (host if VMS[name].hypervisor else allinone.chassis_name)
    assert any("A-vm2" in line and line.split("│")[0].split()[-1] == "vm" for line in kept.stdout.splitlines())
    # B-vm1 is a real container of the demo's dockerd, attached through the added host's plugin
    assert sorted(CONTAINERS) == ["B-vm1"] and CONTAINERS["B-vm1"].hypervisor == 1
    docker_pids = _docker_processes(allinone)
    container_pids = [_container(allinone, host, wl) for wl in CONTAINERS.values()]
    assert any("B-vm1" in line and line.split("│")[0].split()[-1] == "dk" for line in kept.stdout.splitlines())
    root = demo.docker_engine(allinone).root
    # A-vm3 is a Podman container whose CNI ADD made its port in tenant-a on the added host
    podman_pids = [_podman_container(allinone, host, wl) for wl in PODMAN.values()]
    assert "pm Podman container" in kept.stdout
    podman_root = Path(demo.Record.load(allinone).podman_root)

    cleaned = _ovnet(allinone, "demo", "--clean")

    assert cleaned.returncode == 0, cleaned.stderr
    assert _mine(allinone) == []
    assert [p for p in echo_pids if pid_alive(p)] == []
    assert [name for name, (pid, _) in qemus.items() if pid_alive(pid)] == []
    assert [p for p in [*docker_pids.values(), *container_pids] if pid_alive(p)] == []
    assert not root.exists()
    assert [p for p in podman_pids if pid_alive(p)] == [] and not podman_root.exists()
    assert [m for m in Path("/proc/self/mounts").read_text().splitlines() if str(root) in m] == []
    assert vm.list_records(allinone) == []
    assert _taps_left([record for _, record in qemus.values()]) == []
    assert hosts.host_names(allinone) == []
    assert _resources(allinone) == []
    assert not (allinone.state_dir / demo.DEMO_DIR).exists()
    assert _ovnet(allinone, "demo", "--clean").stdout.strip() == "no demo to remove"


def _trace_across_routers(settings) -> None:
    """`ovnet trace` to the other project's floating IP (was "ovn-trace failed: unknown logical
    port"), to routers' own addresses (was "dropped"), and to a floating IP whose port is disabled
    (was a raw OVN stage), as the new user found them; a real ping from B-vm2 agrees."""
    with ApiClient.from_settings(settings) as admin:
        port = {p["id"]: p for p in admin.list_ports()}
        a_vm1 = _port_named(port, "A-vm1-eth0")["id"]
        routers = {r["id"]: r for r in admin.list("routers")}
        fips = admin.list("floatingips")
        subnet_gw = admin.list_subnets(id=_port_named(port, "B-vm2-eth0")["fixed_ips"][0]["subnet_id"])[0]["gateway_ip"]
    to_a_vm1 = next(f["floating_ip_address"] for f in fips if f["port_id"] == a_vm1)
    # the other floating IP of the open ones (FLOATING): B-vm1's, behind tenant-b's router
    to_b_vm1 = next(f["floating_ip_address"] for f in fips if "tenant-b" in routers[f["router_id"]]["name"])
    other_router = next(r["external_gateway_info"]["external_fixed_ips"][0]["ip_address"]
                        for r in routers.values() if "tenant-a" in r["name"])
    b_vm2 = demo.workload_netns(settings, "B-vm2")
    # to a floating IP behind the other router and behind its own (its answer loops back in the router)
    for source, dest, says in [("B-vm2-eth0", to_a_vm1, "un-SNAT to "), ("A-vm1-eth0", to_b_vm1, "un-SNAT to "),
                               ("B-vm2-eth0", to_b_vm1, "un-SNAT to "), ("B-vm2-eth0", other_router, "answers it itself"),
                               ("B-vm2-eth0", subnet_gw, "answers it itself")]:
        got = _ovnet(settings, "trace", "--from", source, "--to", dest)
        assert got.returncode == 0 and says in got.stdout, (source, dest, got.stdout, got.stderr)
        assert got.stdout.rstrip().splitlines()[-2].startswith(f"  - delivered to port {source} ")  # back to the source
    # from the floating IP's own network the request still goes through the router (it was sent to
    # the port's MAC, which port security drops)
    hairpin = _ovnet(settings, "trace", "--from", "A-vm2-eth0", "--to", to_a_vm1, "--json")
    assert hairpin.returncode == 0, hairpin.stdout
    request = json.loads(hairpin.stdout)["request"]
    assert request["steps"][-1]["ids"]["port"] == a_vm1, hairpin.stdout
    assert [s["text"] for s in request["steps"] if s["kind"] == "nat"][-1] == \
        f"DNAT to {_port_named(port, 'A-vm1-eth0')['fixed_ips'][0]['ip_address']}"
    for dest in (to_a_vm1, to_b_vm1, other_router, subnet_gw):
        assert subprocess.run(["ip", "netns", "exec", b_vm2, "ping", "-c1", "-W2", dest],
                              capture_output=True).returncode == 0, dest
    with ApiClient.from_settings(settings) as admin:
        admin.request("PUT", f"/v2.0/ports/{a_vm1}", json={"port": {"admin_state_up": False}})
        try:
            for source in ("outside", "B-vm2-eth0", "A-vm2-eth1"):
                got = _ovnet(settings, "trace", "--from", source, "--to", to_a_vm1)
                assert got.returncode == 1, (source, got.stdout, got.stderr)
                assert got.stdout.rstrip().endswith(f"port A-vm1-eth0 ({a_vm1}) is administratively down "
                                                    "(admin_state_up false), so nothing passes through it"), got.stdout
        finally:
            admin.request("PUT", f"/v2.0/ports/{a_vm1}", json={"port": {"admin_state_up": True}})


def _port_named(ports: dict[str, dict], name: str) -> dict:
    """The one port of ``ports`` (by id) named ``name``."""
    found, = [p for p in ports.values() if p["name"] == name]
    return found


def test_failed_build_leaves_nothing(allinone):
    created: list[str] = []
    tokens = member_tokens(allinone, created)
    tokens["tenant-b"] = "not-a-token"

    with pytest.raises(ApiError) as failure:
        demo.run(allinone, tokens, f"hv{secrets.token_hex(3)}", projects=created)

    assert failure.value.status == 401
    assert _resources(allinone) == []
    assert _mine(allinone) == []
    assert hosts.host_names(allinone) == []
    assert vm.list_records(allinone) == []
    assert not (allinone.state_dir / demo.DEMO_DIR).exists()
    root = demo.docker_root(allinone)  # the dockerd started while the API calls ran
    assert not root.exists()
    assert not [p for p in Path("/proc").glob("[0-9]*/cmdline") if _reads(p).startswith(b"dockerd\0")
                and str(root).encode() in _reads(p)]


def test_a_demo_over_a_kept_one_gets_tokens_its_clean_up_leaves_valid(allinone):
    """`ovnet demo --keep; ovnet demo`: the second run removes the kept demo, whose projects go
    with their tokens, so it must issue its tokens after that, not before (it got 401). A kept
    demo of projects only stands in for the whole one: the projects are what revoke the tokens."""
    kept: list[str] = []
    member_tokens(allinone, kept)
    demo.Record(allinone.state_dir / demo.DEMO_DIR / demo.RECORD_FILE, projects=kept).save()

    with pytest.raises(RuntimeFailure, match="previous demo"):  # tokens issued before the clean-up
        demo.run(allinone, member_tokens(allinone), f"hv{secrets.token_hex(3)}")
    assert demo.Record.load(allinone).projects == kept  # refused before touching anything

    said: list[str] = []
    tokens, made = fresh_tokens(allinone, said.append)
    try:
        assert said[0] == "removing the previous demo" and demo.Record.load(allinone) is None
        assert len(made) == len(seed.NETWORKS) and not set(made) & set(kept)
        for token in tokens.values():
            with ApiClient(allinone.api_endpoints, token) as member:
                member.list_networks()  # 200, not 401: the token of a project that exists
    finally:
        with ApiClient.from_settings(allinone) as admin:
            for project in made:
                admin.delete_project(project, cascade=True)
    assert _resources(allinone) == []


def test_clean_removes_its_host_as_host_remove_does(allinone):
    """A kept demo's added host goes with --clean as `ovnet host remove` takes it: a user's port
    bound there is unbound, not left bound to a host that is gone (`ovnet check` then reported
    it). A kept demo of its host only stands in for the whole one."""
    from ovnet.host.agentclient import AgentClient
    from tests.helpers.hostnet import ApiNetwork

    host = f"hv{secrets.token_hex(3)}"
    hosts.add(allinone, host)
    demo.Record(allinone.state_dir / demo.DEMO_DIR / demo.RECORD_FILE, host=host, host_created=True).save()
    with ApiClient.from_settings(allinone) as admin:
        port = ApiNetwork(admin, "10.78.0").port(20)
        with AgentClient(hosts.host_settings(allinone, host).agent_socket) as far:
            far.bind(port["id"], "internal", f"ovi{secrets.token_hex(4)}")

        removed = demo.clean(allinone)

        assert f"host {host}" in removed and f"binding {port['id']}" in removed
        assert admin.show_port(port["id"])["binding:host_id"] == ""
    assert hosts.host_names(allinone) == []


def test_host_remove_stops_the_demos_dockerd_and_podman_containers_on_it(allinone):
    """After `demo --keep; host remove hv2` the demo's dockerd (in hv2's namespace) and its Podman
    container (CNI through hv2's agent) ran on; the next demo's `docker rm -f` hung on the gone
    plugin (a traceback after 60 s). Now host remove stops them first, while hv2 still answers. A
    kept demo of its host, its dockerd and one Podman container stands in for the whole one."""
    from tests.helpers.hostnet import ApiNetwork

    host = f"hv{secrets.token_hex(3)}"
    hosts.add(allinone, host)
    far = hosts.host_settings(allinone, host)
    record = demo.Record(allinone.state_dir / demo.DEMO_DIR / demo.RECORD_FILE, host=host, host_created=True,
                         docker_root=str(demo.docker_root(allinone)), docker_netns=far.netns,
                         podman_root=str(cnicontainer.engine_root(allinone.state_dir / demo.DEMO_DIR,
                                                                  underlay.tag(allinone.state_dir))))
    record.save()
    dockerd = container.start_engine(Path(record.docker_root), far.netns)
    with ApiClient.from_settings(allinone) as admin:
        net = ApiNetwork(admin, "10.76.0")
        podman = cnicontainer.start(Path(record.podman_root), far.agent_socket, net.network["id"],
                                    allinone.admin_token_file.read_text().strip())
        made = cnicontainer.run(podman, "A-vm3", "10.76.0.9")
        assert pid_alive(dockerd.pid()) and pid_alive(made["pid"])
        conmon = int(Path(f"/proc/{made['pid']}/stat").read_text().rsplit(")", 1)[1].split()[1])  # its parent
        assert b"conmon" in Path(f"/proc/{conmon}/cmdline").read_bytes()

        removed = _ovnet(allinone, "host", "remove", host)

        assert removed.returncode == 0, removed.stderr
        assert "the demo's dockerd removed" in removed.stdout
        assert "the demo's Podman containers removed" in removed.stdout
        assert dockerd.pid() is None and not Path(record.docker_root).exists()
        assert wait_until(lambda: "still running" if pid_alive(made["pid"]) or pid_alive(conmon) else None, 10) is None
        assert not Path(record.podman_root).exists()
        assert admin.list_ports(network_id=net.network["id"], device_owner="compute:cni") == []
    assert hosts.host_names(allinone) == []


def test_clean_drops_the_stale_claims_of_its_docker_networks(allinone):
    """A dockerd that hung on a removed host's plugin was stopped without removing its Docker
    network, whose in-use tag then kept the demo's network (409 NetworkInUse) for good: --clean
    drops the claims of the Docker networks the demo recorded, once its dockerd is gone, and
    leaves another claim alone. A kept demo of one network stands in for the whole one."""
    from ovnet.host.docker import pools

    docker_network, users = secrets.token_hex(32), secrets.token_hex(32)
    with ApiClient.from_settings(allinone) as admin:
        net = admin.create_network(name="net1")
        other = admin.create_network(name="users-net")
        for network, claimant in ((net, docker_network), (other, users)):
            admin.add_tag("networks", network["id"], pools.in_use_tag(claimant))
        demo.Record(allinone.state_dir / demo.DEMO_DIR / demo.RECORD_FILE, networks=[net["id"], other["id"]],
                    docker_networks=[docker_network]).save()

        with pytest.raises(ApiError) as kept:  # the users' claim still holds its network
            demo.clean(allinone)
        assert kept.value.type == "NetworkInUse" and other["id"] in kept.value.message

        assert admin.list_networks(id=net["id"]) == []  # its own claim dropped, then deleted
        admin.remove_tag("networks", other["id"], pools.in_use_tag(users))
        assert f"network {other['id']}" in demo.clean(allinone)
    assert demo.Record.load(allinone) is None


def test_clean_refuses_before_removing_anything_while_a_users_port_is_on_a_demo_network(allinone):
    """A user's router gateway on the demo's public network, or an admin's port on a project's
    network, kept it from being deleted half-way through --clean (409 SubnetInUse), after the
    demo's projects' resources were gone: now the clean-up names those ports and removes nothing
    until they are gone. A kept demo of its public network, a project network, a project and a
    namespace stands in for the whole one."""
    ns = f"ovd-{secrets.token_hex(4)}"
    netns.create(ns)
    try:
        with ApiClient.from_settings(allinone) as admin:
            public = admin.create_network(name=seed.PUBLIC_NETWORK, **{
                "router:external": True, "provider:network_type": "flat",
                "provider:physical_network": allinone.physical_network})
            subnet = admin.create_subnet(network_id=public["id"], cidr="10.79.0.0/24", ip_version=4, enable_dhcp=False)
            made: list[str] = []
            member_tokens(allinone, made)
            net1 = admin.create_network(name="net1", project_id=made[0])
            sub1 = admin.create_subnet(network_id=net1["id"], cidr="192.168.1.0/24", ip_version=4)
            theirs = admin.create_port(network_id=net1["id"], name="demo-vm")
            record = demo.Record(allinone.state_dir / demo.DEMO_DIR / demo.RECORD_FILE, public_network=public["id"],
                                 networks=[public["id"], net1["id"]], subnets=[subnet["id"], sub1["id"]],
                                 ports=[{"id": theirs["id"], "socket": ""}], projects=made, netns=[ns])
            record.save()
            router = admin.create("router", "routers", {"name": "users", "external_gateway_info": {
                "network_id": public["id"]}})
            gateway = admin.list_ports(device_id=router["id"], device_owner="network:router_gateway")[0]
            users = admin.create_port(network_id=net1["id"], name="admins")

            refused = _ovnet(allinone, "demo", "--clean")

            assert refused.returncode == 1, refused.stdout
            assert f"port {gateway['id']} (network:router_gateway of {router['id']}, project " in refused.stderr
            assert f"port {users['id']} admins (no owner, project {users['project_id']}) on network net1" \
                in refused.stderr
            assert theirs["id"] not in refused.stderr  # the demo's own port is no obstacle
            assert "nothing was removed" in refused.stderr
            assert demo.Record.load(allinone).projects == made and ns in netns.listnetns()
            assert [p["id"] for p in admin.list_projects() if p["id"] in made] == made
            assert admin.show_subnet(subnet["id"])["id"] == subnet["id"]
            assert admin.show_port(theirs["id"])["id"] == theirs["id"]

            admin.delete("routers", router["id"])
            with pytest.raises(demo.DemoNetworkInUse, match=users["id"]):
                demo.clean(allinone)
            admin.delete_port(users["id"])
            removed = demo.clean(allinone)
            assert f"network {public['id']}" in removed and f"network {net1['id']}" in removed
        assert _resources(allinone) == [] and ns not in netns.listnetns()
    finally:
        if ns in netns.listnetns():
            netns.remove(ns)


def _reads(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError:
        return b""  # the process exited meanwhile


def test_demo_needs_ovnet_up(allinone_settings):
    allinone_settings.save()
    refused = _ovnet(allinone_settings, "demo")
    assert refused.returncode == 1
    assert "ovnet up" in refused.stderr


def test_down_takes_a_kept_demo_with_it(allinone):
    kept = _ovnet(allinone, "demo", "--keep", "--json", "--host", f"hv{secrets.token_hex(3)}")
    assert kept.returncode == 0, kept.stderr
    # --json: the outside host saw each workload's floating IP or its router's gateway (SNAT), and
    # ovnet trace predicted that source too
    cells = json.loads(kept.stdout)["cells"]
    outbound = [c for c in cells if c["dst"]["workload"] == seed.OUTSIDE and c["seen"]]
    assert {c["reason"] for c in outbound} == {"floating IP", "SNAT"}
    assert all(c["source"] == c["want_source"] == c["trace"]["source"] for c in outbound), outbound
    assert all(c["ok"] and c["trace"]["agrees"] for c in cells)
    echo_pids = [read_pid(p) for p in (allinone.state_dir / demo.DEMO_DIR).glob("echo-*.pid")]
    host_pids = [pid for h in hosts.list_hosts(allinone) for _, pid, _ in h.services]
    qemu_pids = [pid for pid, _ in _qemu_vms(allinone).values()]
    docker_pids = list(_docker_processes(allinone).values())
    root = demo.docker_engine(allinone).root
    assert echo_pids and host_pids and len(qemu_pids) == len(VMS)

    down = _ovnet(allinone, "down")

    assert down.returncode == 0, down.stderr
    assert _mine(allinone) == []
    assert [p for p in host_pids + qemu_pids + docker_pids if pid_alive(p)] == []
    assert not root.exists()
    assert vm.list_records(allinone) == []
    # An echo server exits within its 1 s watch once its namespace is gone.
    assert wait_until(lambda: None if not any(pid_alive(p) for p in echo_pids) else "alive", 30.0) is None
