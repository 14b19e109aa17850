"""The CNI plugin end to end through the real ovnet-cni executable, the agent's /cni routes and a
private all-in-one (real OVS/OVN): ADD/CHECK/DEL/GC/STATUS, versions, static IP and MAC,
idempotency, and the faults of issue 12 (netns gone before DEL, lost cache, GC behind the
runtime's back, the agent killed between ADD and DEL, a namespace vanished without DEL)."""

from __future__ import annotations

import json
import os
import secrets
import signal

import pytest
from pyroute2 import netns as pynetns

from ovnet.apiclient import ApiClient
from ovnet.host import agent as agent_mod
from ovnet.host.vif import RELEASED, device_alias, veth_host_name, veth_parked_name
from ovnet.runtime import allinone as aio
from tests.helpers.allinone import private_settings
from tests.helpers.cni_runtime import CniRuntime, conflist
from tests.helpers.hostnet import ApiNetwork, ns_run, wait_status
from tests.helpers.wait import wait_for

pytestmark = [pytest.mark.root, pytest.mark.ovn]


@pytest.fixture
def allinone_settings(tmp_path):
    """The host tests' all-in-one (periodic reconcile an hour apart) with a 2 s CNI grace period."""
    settings = private_settings(tmp_path, agent_sync_interval=3600.0, cni_grace_period=2.0)
    yield settings
    aio.down(settings, purge=True)


@pytest.fixture
def net(api):
    return ApiNetwork(api, f"10.{secrets.randbelow(50) + 150}.7", dns_nameservers=["10.1.1.53"])


@pytest.fixture
def cni(allinone, net):
    return CniRuntime(conflist(f"cn-{secrets.token_hex(3)}", net.network["name"], allinone.agent_socket))


def _cni_ports(api, net) -> list[dict]:
    return api.list_ports(network_id=net.network["id"], device_owner="compute:cni")


def _cni_ports_after_dels(api, net) -> list[dict]:
    """The CNI ports once the agent's deletions that follow answered DELs are done. The sweep
    runs only in the agent's reconcile, which this module's hour-long agent_sync_interval keeps
    out of the test, so what is gone was deleted by the DEL, however long a loaded machine took."""
    wait_for(lambda: not _cni_ports(api, net), 30.0)
    return _cni_ports(api, net)


def _addrs(ns: str, ifname: str = "eth0") -> list[str]:
    out = json.loads(ns_run(ns, "ip", "-j", "-4", "addr", "show", "dev", ifname).stdout)[0]
    return [f"{a['local']}/{a['prefixlen']}" for a in out["addr_info"]]


def test_add_check_del_leaves_nothing(allinone, api, host, net, cni, make_netns):
    ns = make_netns()
    path = f"/run/netns/{ns}"

    result = cni.add("ctr-1", path)

    [port] = _cni_ports(api, net)
    assert port["device_id"] == "ctr-1" and "cni.ifname:eth0" in port["tags"]
    assert port["binding:host_id"] == allinone.chassis_name
    assert host.ovs.port_by_id(port["id"]).installed
    assert wait_status(api, port["id"], "ACTIVE") == "ACTIVE"
    ip = port["fixed_ips"][0]["ip_address"]
    assert result == {
        "cniVersion": "1.0.0",
        "interfaces": [{"name": "eth0", "mac": port["mac_address"], "sandbox": path}],
        "ips": [{"address": f"{ip}/24", "gateway": net.prefix + ".1", "interface": 0}],
        "routes": [{"dst": "0.0.0.0/0", "gw": net.prefix + ".1"}],
        "dns": {"nameservers": ["10.1.1.53"]},
    }
    assert _addrs(ns) == [f"{ip}/24"]
    assert cni.check("ctr-1", path).rc == 0
    assert cni.add("ctr-1", path) == result  # idempotent: same port, same Result
    assert len(_cni_ports(api, net)) == 1

    ns_run(ns, "ip", "addr", "flush", "dev", "eth0")
    drift = cni.check("ctr-1", path)
    assert drift.rc == 1 and drift.out["code"] == 101 and ip in drift.out["msg"]

    assert cni.delete("ctr-1", path).rc == 0
    assert host.ovs.port_by_id(port["id"]) is None  # unplugged before DEL answered
    assert cni.delete("ctr-1", path).rc == 0  # a second DEL succeeds
    assert _cni_ports_after_dels(api, net) == []
    with host.iproute() as ipr:
        assert not ipr.link_lookup(ifname=veth_host_name(port["id"]))
    gone = cni.check("ctr-1", path)
    assert gone.rc == 1 and gone.out["code"] == 3

    # DEL then ADD of the same attachment at once (podman's `network reload`): the ADD waits for
    # the deletion that followed the DEL's answer, then makes a new port.
    cni.add("ctr-1", path)
    assert cni.delete("ctr-1", path).rc == 0
    again = cni.add("ctr-1", path)
    [new] = _cni_ports(api, net)
    assert new["id"] != port["id"] and again["interfaces"][0]["mac"] == new["mac_address"]
    assert cni.delete("ctr-1", path).rc == 0 and _cni_ports_after_dels(api, net) == []


@pytest.mark.parametrize("version", ["0.4.0", "1.1.0"])
def test_results_in_the_asked_version_with_static_ip_and_mac(allinone, api, net, make_netns, version):
    runtime = CniRuntime(conflist(f"cv-{secrets.token_hex(3)}", net.network["id"], allinone.agent_socket,
                                  version=version))
    ns = make_netns()
    mac = "02:11:22:33:44:55"
    # podman's form (CNI_ARGS IP=/MAC=) and the capability form (runtimeConfig) alike.
    if version == "0.4.0":
        result = runtime.add("c-args", f"/run/netns/{ns}", args=f"IgnoreUnknown=1;IP={net.prefix}.33;MAC={mac}")
    else:
        result = runtime.add("c-caps", f"/run/netns/{ns}",
                             runtime_config={"ips": [f"{net.prefix}.33/24"], "mac": mac})
    assert result["cniVersion"] == version
    assert result["ips"][0]["address"] == f"{net.prefix}.33/24"
    assert result["interfaces"][0]["mac"] == mac
    if version == "0.4.0":
        assert result["ips"][0]["version"] == "4" and "mtu" not in result["interfaces"][0]
    else:
        assert "version" not in result["ips"][0] and result["interfaces"][0]["mtu"] == net.network["mtu"]
    assert _addrs(ns) == [f"{net.prefix}.33/24"]
    taken = runtime.run("ADD", "c-other", f"/run/netns/{make_netns()}",
                        args=f"IP={net.prefix}.33")
    assert taken.rc == 1 and taken.out["code"] == 100 and "IpAddressAlreadyAllocated" in taken.out["details"]
    assert len(_cni_ports(api, net)) == 1  # the refused ADD left no port
    container = "c-args" if version == "0.4.0" else "c-caps"
    assert runtime.delete(container, f"/run/netns/{ns}").rc == 0
    # The address is free for the next container at once, though its port's deletion follows the
    # DEL's answer: an ADD asking for a static address waits for it.
    other_ns = f"/run/netns/{make_netns()}"
    assert runtime.add("c-next", other_ns, args=f"IP={net.prefix}.33")["ips"][0]["address"] == f"{net.prefix}.33/24"
    assert runtime.delete("c-next", other_ns).rc == 0
    assert _cni_ports_after_dels(api, net) == []


def test_bad_requests_are_cni_error_objects(allinone, cni, make_netns):
    ns = f"/run/netns/{make_netns()}"
    cases = [
        (cni.run("ADD", "c1", ns, stdin=b"{not json"), 6),
        (cni.run("ADD", "c1", ns, stdin={**cni.request("ADD"), "cniVersion": "0.2.0"}), 1),
        (cni.run("ADD", "", ns), 4),
        (cni.run("ADD", "c1", ""), 4),
        (cni.run("ADD", "-bad", ns), 4),
        # README: 4 for a bad CNI_*, not the 100 an API refusal gets (new-user finding)
        (cni.run("ADD", "c1", ns + "-gone"), 4),
        (cni.run("ADD", "c1", "/etc/hostname"), 4),  # a file, not a namespace
        (cni.run("CHECK", "c1", ns + "-gone"), 4),
        (cni.run("ADD", "c1", ns, ifname="eth/0"), 4),
        (cni.run("ADD", "c1", ns, ifname="x" * 16), 4),
        (cni.run("ADD", "c1", ns, stdin={**cni.request("ADD"), "network": "no-such-network"}), 7),
        (cni.run("GC"), 1),  # GC needs 1.1.0; this conflist says 1.0.0
        (cni.run("FROB", "c1", ns), 4),
    ]
    for reply, code in cases:
        assert reply.rc == 1 and reply.out["code"] == code, reply
        assert reply.out["msg"] and "Traceback" not in reply.stderr
    gone = cni.run("ADD", "c1", ns, stdin={**cni.request("ADD"), "network": "0b6a4a4e-5d7e-4b7c-9a51-3d2b8f0c1e22"})
    assert gone.out["code"] == 7 and "does not exist: it was deleted" in gone.out["msg"], gone
    version = cni.run("VERSION", stdin={"cniVersion": "1.0.0"})
    assert version.rc == 0 and version.out == {"cniVersion": "1.0.0", "supportedVersions": ["0.4.0", "1.0.0", "1.1.0"]}


def test_an_interface_name_taken_in_the_namespace_fails_and_the_following_del_keeps_the_live_one(
        allinone, api, net, cni, make_netns):
    ns = f"/run/netns/{make_netns()}"
    cni.add("live", ns)
    clash = cni.run("ADD", "intruder", ns)  # another attachment wanting eth0 in the same netns
    assert clash.rc == 1 and clash.out["code"] == 100 and "eth0 already exists" in clash.out["msg"]
    assert cni.delete("intruder", ns).rc == 0  # the runtime's clean-up DEL (cni.md B.4 pitfall 6)
    assert [p["device_id"] for p in _cni_ports(api, net)] == ["live"]
    assert cni.check("live", ns).rc == 0
    cni.delete("live", ns)


def test_del_succeeds_when_netns_is_gone_or_empty_and_without_prev_result(allinone, api, host, net, cni, make_netns):
    a, b = make_netns(), make_netns()
    cni.add("gone", f"/run/netns/{a}")
    cni.add("lost-cache", f"/run/netns/{b}")
    pynetns.remove(a)

    assert cni.delete("gone", f"/run/netns/{a}").rc == 0  # netns path missing
    cni.cache.clear()  # a reboot-like loss of the runtime's cache: no prevResult
    assert cni.delete("lost-cache", "").rc == 0  # ctr sends an empty CNI_NETNS
    assert _cni_ports_after_dels(api, net) == []
    assert [o for o in host.ovs.owned_ports()] == []


def test_gc_removes_only_invalid_attachments_of_its_own_network(allinone, api, net, cni, make_netns):
    other_net = ApiNetwork(api, f"10.{secrets.randbelow(50) + 100}.8")
    other = CniRuntime(conflist(f"co-{secrets.token_hex(3)}", other_net.network["id"], allinone.agent_socket,
                                version="1.1.0"))
    gc_runtime = CniRuntime({**cni.conflist, "cniVersion": "1.1.0"})
    ns1, ns2, ns3 = (f"/run/netns/{make_netns()}" for _ in range(3))
    cni.add("keep", ns1)
    cni.add("stale", ns2)  # its container removed behind the runtime's back
    other.add("elsewhere", ns3)

    assert gc_runtime.gc([("keep", "eth0")]).rc == 0

    assert [p["device_id"] for p in _cni_ports(api, net)] == ["keep"]
    assert [p["device_id"] for p in _cni_ports(api, other_net)] == ["elsewhere"]
    assert gc_runtime.gc([]).rc == 0
    assert _cni_ports(api, net) == []
    other.delete("elsewhere", ns3)


def test_status_is_50_when_the_agent_or_api_is_away(allinone, cni):
    runtime = CniRuntime({**cni.conflist, "cniVersion": "1.1.0"})
    assert runtime.status().rc == 0
    api_service = next(s for s in aio.services(allinone) if s.name == "ovnet-server")
    api_service.stop()
    try:
        away = runtime.status()
        assert away.rc == 1 and away.out["code"] == 50, away
    finally:
        aio.up(allinone)
    agent_down = CniRuntime({**runtime.conflist, "plugins": [
        {**runtime.conflist["plugins"][0], "agent_socket": str(allinone.run_dir / "nothing.sock")}]})
    reply = agent_down.status()
    assert reply.rc == 1 and reply.out["code"] == 50


def test_agent_killed_between_add_and_del_then_the_sweep_removes_vanished_containers(
        allinone, api, host, agent, net, cni, make_netns):
    ns = make_netns()
    cni.add("victim", f"/run/netns/{ns}")
    [port] = _cni_ports(api, net)
    agent_service = next(s for s in aio.services(allinone) if s.name == "ovnet-agent")
    os.kill(agent_service.pid(), signal.SIGKILL)
    pynetns.remove(ns)  # the container goes while the agent is away

    missed = cni.delete("victim", f"/run/netns/{ns}")
    assert missed.rc == 1 and missed.out["code"] == 11  # try again later; podman drops it silently

    aio.up(allinone)  # the agent comes back; its start-up round finds the veth gone and unplugs it
    assert agent.reconcile()["cni_removed"] == [port["id"]]  # and the next sweep needs no grace period
    assert _cni_ports(api, net) == []
    assert host.ovs.port_by_id(port["id"]) is None


def test_a_container_killed_without_del_loses_its_port_in_the_next_round(allinone, api, host, agent, net, cni,
                                                                         make_netns):
    # What `ctr task kill -s SIGKILL` + `ctr task delete` leave: the namespace goes, no DEL comes.
    # The veth went with the namespace, so the port is the container's no more: the round that
    # sees that deletes it, as DEL would have (this module's grace period is 2 s; the round runs
    # at once), and `ovnet check` finds no port bound here without an interface meanwhile.
    ns = make_netns()
    cni.add("killed", f"/run/netns/{ns}")
    [port] = _cni_ports(api, net)
    device = host.ovs.port_by_id(port["id"]).name
    pynetns.remove(ns)
    with host.iproute() as ipr:  # the kernel deletes the veth pair once the namespace is cleaned up
        wait_for(lambda: not ipr.link_lookup(ifname=device), 30.0, what="the veth gone with its namespace")

    report = agent.reconcile()

    assert report["removed"] == [port["id"]] and report["cni_removed"] == [port["id"]]
    assert _cni_ports(api, net) == [] and host.ovs.port_by_id(port["id"]) is None


def test_an_agent_killed_after_answering_del_leaves_what_the_reconcile_and_the_sweep_remove(
        allinone, api, host, agent, net, cni, make_netns):
    ns = f"/run/netns/{make_netns()}"
    cni.add("answered", ns)
    [port] = _cni_ports(api, net)
    device = host.ovs.port_by_id(port["id"]).name
    agent_service = next(s for s in aio.services(allinone) if s.name == "ovnet-agent")
    os.kill(agent_service.pid(), signal.SIGKILL)
    # What DEL does before it answers (VethVif.release), the agent then dying before the rest.
    host.ovs.del_port(device)
    with host.iproute() as ipr:
        ipr.link("set", index=ipr.link_lookup(ifname=device)[0], ifalias=device_alias(port["id"], RELEASED))

    aio.up(allinone)  # the start-up reconcile deletes the released veth rather than re-plugging it
    with host.iproute() as ipr:
        assert not ipr.link_lookup(ifname=device)
    assert host.ovs.port_by_id(port["id"]) is None
    swept = wait_for(lambda: agent.reconcile()["cni_removed"], 30.0, 0.25)  # after the 2 s grace period
    assert swept == [port["id"]] and _cni_ports(api, net) == []


def test_an_add_whose_reads_already_see_the_port_made_beside_them_keeps_that_port(allinone, api, net, make_netns,
                                                                                  monkeypatch):
    """The conflist names network and project by id, so ADD creates the port beside its reads; when
    the create lands first, the attachment's ports read finds that very port, which is not another
    attachment's port to reuse (seen under load as PortNotFound: it was deleted, then bound)."""
    parts = agent_mod.build(allinone, allinone.admin_token_file.read_text().strip())
    try:
        read = parts.cni._ports

        def read_after_the_create(client, container_id, ifname, network_id):
            wait_for(lambda: api.list_ports(device_id=container_id), 30.0, 0.01, what="the port made beside")
            return read(client, container_id, ifname, network_id)
        monkeypatch.setattr(parts.cni, "_ports", read_after_the_create)
        runtime = CniRuntime(conflist("cr-early", net.network["id"], allinone.agent_socket,
                                      project=net.network["project_id"]))
        env = {"CNI_COMMAND": "ADD", "CNI_CONTAINERID": "early-1", "CNI_NETNS": f"/run/netns/{make_netns()}",
               "CNI_IFNAME": "eth0"}

        result = parts.cni.handle("ADD", env, runtime.request("ADD"), None)

        [port] = _cni_ports(api, net)
        assert result["interfaces"][0]["mac"] == port["mac_address"] and port["status"] == "ACTIVE"
        parts.cni.handle("DEL", {**env, "CNI_COMMAND": "DEL"}, runtime.request("DEL"), None)
    finally:
        parts.cni.close()
        parts.admin.close()
        parts.service.host.ovs.close()
    assert _cni_ports(api, net) == []


def test_a_member_token_makes_its_projects_port_and_add_del_stay_exact(allinone, api, host, make_netns, tmp_path):
    project = api.create_project(f"cni-{secrets.token_hex(3)}")
    token_file = tmp_path / "member-token"
    token_file.write_text(api.issue_token(project["id"]))
    with ApiClient(allinone.api_endpoints, token_file.read_text()) as member:
        net = member.create_network(name="member-net")
        member.create_subnet(network_id=net["id"], cidr="10.66.0.0/24", ip_version=4)
    runtime = CniRuntime(conflist(f"cm-{secrets.token_hex(3)}", "member-net", allinone.agent_socket,
                                  token_file=str(token_file)))
    ns = f"/run/netns/{make_netns()}"

    result = runtime.add("member-ctr", ns)

    [port] = api.list_ports(network_id=net["id"])
    assert port["project_id"] == project["id"] and port["binding:host_id"] == allinone.chassis_name
    device = host.ovs.port_by_id(port["id"]).name
    assert runtime.add("member-ctr", ns) == result  # idempotent for a member too: not re-plugged
    assert host.ovs.port_by_id(port["id"]).name == device and runtime.check("member-ctr", ns).rc == 0
    assert runtime.delete("member-ctr", ns).rc == 0
    assert api.list_ports(network_id=net["id"]) == [] and host.ovs.port_by_id(port["id"]) is None


def test_the_configured_project_by_id_or_name_and_a_wrong_one(allinone, api, net, make_netns):
    project = api.find_project(net.network["project_id"])
    other = api.create_project(f"cni-other-{secrets.token_hex(3)}")
    ns = f"/run/netns/{make_netns()}"
    for ref in (project["id"], project["name"]):  # the id, as `ovnet cni install` writes it, needs no lookup
        runtime = CniRuntime(conflist(f"cp-{secrets.token_hex(3)}", net.network["id"], allinone.agent_socket,
                                      project=ref))
        assert runtime.add("proj-ctr", ns)["ips"]
        assert runtime.delete("proj-ctr", ns).rc == 0
    for ref in (other["id"], other["name"]):
        runtime = CniRuntime(conflist(f"cp-{secrets.token_hex(3)}", net.network["id"], allinone.agent_socket,
                                      project=ref))
        refused = runtime.run("ADD", "proj-ctr", ns)
        assert refused.rc == 1 and refused.out["code"] == 7 and "not in project" in refused.out["msg"]
    assert _cni_ports(api, net) == []


def _pool_ports(api, net) -> list[dict]:
    return api.list_ports(network_id=net.network["id"], device_owner="compute:cni-pool")


def _pool_full(api, net, size: int) -> list[dict]:
    ready = _pool_ports(api, net)
    return ready if len(ready) == size and all(p["status"] == "ACTIVE" for p in ready) else []


def test_a_pool_hands_out_ready_ports_and_goes_with_its_network(allinone, api, host, agent, net, make_netns):
    """pool_size > 0: after the first ADD the agent keeps that many ready ports (ACTIVE, plugged,
    their veth end parked); an ADD hands one out (owner, name, device_id rewritten, the end moved
    into the container's namespace with its addresses); repeated ADD, CHECK, DEL and GC keep
    their rules; GC leaves the pool alone; deleting the network deletes the ready ports."""
    runtime = CniRuntime(conflist(f"cpl-{secrets.token_hex(3)}", net.network["id"], allinone.agent_socket,
                                  version="1.1.0", project=net.network["project_id"], pool_size=2))
    first_ns = make_netns()
    first = runtime.add("pool-0", f"/run/netns/{first_ns}")  # no pool yet: made, then the pool fills
    ready = {p["id"] for p in wait_for(lambda: _pool_full(api, net, 2), 30.0, 0.1, what="2 ready ports")}

    ns = make_netns()
    path = f"/run/netns/{ns}"
    result = runtime.add("pool-1", path)

    [port] = [p for p in _cni_ports(api, net) if p["device_id"] == "pool-1"]
    assert port["id"] in ready and port["name"] == "cni-pool-1-eth0" and port["status"] == "ACTIVE"
    assert {"cni.ifname:eth0", f"cni.net:{runtime.conflist['name']}"} <= set(port["tags"])
    owned = host.ovs.port_by_id(port["id"])
    assert owned.installed and owned.target == f"{path}/eth0"
    ip = port["fixed_ips"][0]["ip_address"]
    assert result["interfaces"] == [{"name": "eth0", "mac": port["mac_address"], "sandbox": path,
                                     "mtu": net.network["mtu"]}]
    assert result["ips"][0]["address"] == f"{ip}/24" and _addrs(ns) == [f"{ip}/24"]
    first_ip = first["ips"][0]["address"].split("/")[0]
    assert ns_run(ns, "ping", "-c", "1", "-W", "5", first_ip, check=False).returncode == 0
    assert runtime.check("pool-1", path).rc == 0
    assert runtime.add("pool-1", path) == result  # idempotent: the ready port it took is discarded
    assert len(_cni_ports(api, net)) == 2

    assert runtime.delete("pool-1", path).rc == 0 and runtime.delete("pool-0", f"/run/netns/{first_ns}").rc == 0
    assert _cni_ports_after_dels(api, net) == []
    refilled = {p["id"] for p in wait_for(lambda: _pool_full(api, net, 2), 30.0, 0.1, what="the pool refilled")}
    assert runtime.gc([]).rc == 0 and {p["id"] for p in _pool_ports(api, net)} == refilled

    api.delete_network(net.network["id"])  # not in use: the ready ports go with it

    assert api.list_ports(device_owner="compute:cni-pool") == []
    agent.reconcile()  # their OVS ports and veths go, and the pool forgets them
    with host.iproute() as ipr:
        for port_id in refilled:
            assert host.ovs.port_by_id(port_id) is None and not ipr.link_lookup(ifname=veth_host_name(port_id))
            assert not ipr.link_lookup(ifname=veth_parked_name(port_id))


def test_ready_ports_go_when_the_agent_stops_and_after_it_was_killed(allinone, api, host, agent, net, make_netns):
    runtime = CniRuntime(conflist(f"cpk-{secrets.token_hex(3)}", net.network["id"], allinone.agent_socket,
                                  project=net.network["project_id"], pool_size=1))
    runtime.add("pk-0", f"/run/netns/{make_netns()}")
    [stale] = wait_for(lambda: _pool_full(api, net, 1), 30.0, 0.1, what="1 ready port")
    agent_service = next(s for s in aio.services(allinone) if s.name == "ovnet-agent")
    os.kill(agent_service.pid(), signal.SIGKILL)
    wait_for(lambda: agent_service.pid() is None, 30.0, what="the killed agent gone")  # its threads exit too

    aio.up(allinone)  # the new agent's pool holds none of the old one's ready ports: its sweep deletes them
    agent.reconcile()
    assert [p["id"] for p in _pool_ports(api, net)] == [] and host.ovs.port_by_id(stale["id"]) is None

    runtime.add("pk-1", f"/run/netns/{make_netns()}")
    [ready] = wait_for(lambda: _pool_full(api, net, 1), 30.0, 0.1, what="1 ready port again")
    assert agent_service.stop()
    assert _pool_ports(api, net) == [] and host.ovs.port_by_id(ready["id"]) is None
