"""Security groups, port security and allowed address pairs on real OVN: workloads in namespaces on a
private all-in-one, probed with ping and TCP; every probed cell is also traced with ``ovnet trace``
(OVN's ovn-trace) and the two verdicts must agree."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from ovnet.apiclient import ApiClient
from ovnet.cli.trace import run_trace
from ovnet.host.agentclient import AgentClient
from tests.helpers.allinone import running_allinone
from tests.helpers.hostnet import ns_run
from tests.helpers.secgroups import Workloads, probe, settle
from tests.helpers.wait import wait_for

pytestmark = [pytest.mark.root, pytest.mark.ovn]
TCP = 7000
OTHER_TCP = 7001


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    """One all-in-one for the module: (settings, admin ApiClient, Workloads)."""
    tmp = tmp_path_factory.mktemp("sg")
    with running_allinone(tmp, agent_sync_interval=3600.0) as settings:
        with ApiClient.from_settings(settings) as api, AgentClient(settings.agent_socket) as agent:
            work = Workloads(api, agent, tmp)
            try:
                yield settings, api, work
            finally:
                work.close()


class Net:
    """A network with a /24 made through the API; ``port(octet, **attrs)`` makes ports on it."""

    def __init__(self, api: ApiClient, prefix: str):
        self.api, self.prefix = api, prefix
        self.network = api.create_network(name=f"sg-{prefix}")
        self.subnet = api.create_subnet(network_id=self.network["id"], cidr=f"{prefix}.0/24", ip_version=4)

    def port(self, octet: int, **attrs) -> dict:
        return self.api.create_port(network_id=self.network["id"], name=f"p{octet}", fixed_ips=[
            {"subnet_id": self.subnet["id"], "ip_address": f"{self.prefix}.{octet}"}], **attrs)


def group(api: ApiClient, name: str, **attrs) -> dict:
    return api.create("security_group", "security-groups", {"name": name, **attrs})


def rule(api: ApiClient, group_id: str, **attrs) -> dict:
    return api.create("security_group_rule", "security-group-rules", {"security_group_id": group_id, **attrs})


def default_group(api: ApiClient) -> dict:
    return api.request("GET", "/v2.0/security-groups?name=default")["security_groups"][0]


def check(stack, ns: str, source: dict, dest: dict, address: str, proto: str, dport: int | None,
          expected: bool) -> None:
    """The probe from ``ns`` (port ``source``) to ``address`` gives ``expected`` (waiting up to 15 s
    for the flows), and ``ovnet trace`` says the same for that packet."""
    settings, api, _ = stack
    settle(settings.nb_connection)

    def seen() -> bool:
        got = probe(ns, address, dport or TCP)
        return bool(got["echo"]) if proto == "tcp" else got["ping"]
    observed = expected if wait_for(lambda: seen() == expected, interval=0.3) else not expected
    assert observed == expected, f"{source['name']} -> {address} {proto} {dport}: probe says {observed}"
    traced = run_trace(api, settings, source["id"], dest["id"], proto, dport)
    assert (traced["verdict"] == "delivered") == expected, traced


def test_default_group_same_group_in_nothing_else_in_all_out(stack):
    settings, api, work = stack
    net = Net(api, "10.91.0")
    lonely = group(api, "lonely")
    a, b = net.port(10), net.port(11)
    c = net.port(12, security_groups=[lonely["id"]])
    ns = {p["id"]: work.start(p) for p in (a, b, c)}
    for p in (a, b, c):
        work.serve(ns[p["id"]], TCP)
    check(stack, ns[a["id"]], a, b, "10.91.0.11", "icmp", None, True)   # same group in
    check(stack, ns[b["id"]], b, a, "10.91.0.10", "tcp", TCP, True)
    check(stack, ns[c["id"]], c, a, "10.91.0.10", "icmp", None, False)  # another group: not in
    check(stack, ns[a["id"]], a, c, "10.91.0.12", "icmp", None, False)  # lonely has no ingress rule


def test_a_tcp_rule_opens_exactly_that_port_and_replies_need_no_rule(stack):
    settings, api, work = stack
    net = Net(api, "10.92.0")
    web, client_group = group(api, "web"), group(api, "client")
    rule(api, web["id"], direction="ingress", protocol="tcp", port_range_min=TCP, port_range_max=TCP)
    server = net.port(10, security_groups=[web["id"]])
    client = net.port(11, security_groups=[client_group["id"]])  # egress only: replies pass (stateful)
    s_ns, c_ns = work.start(server), work.start(client)
    work.serve(s_ns, TCP)
    work.serve(s_ns, OTHER_TCP)
    check(stack, c_ns, client, server, "10.92.0.10", "tcp", TCP, True)
    check(stack, c_ns, client, server, "10.92.0.10", "tcp", OTHER_TCP, False)
    check(stack, c_ns, client, server, "10.92.0.10", "icmp", None, False)


def test_a_remote_group_rule_follows_membership(stack):
    settings, api, work = stack
    net = Net(api, "10.93.0")
    admins, server_group = group(api, "admins"), group(api, "srv")
    rule(api, server_group["id"], direction="ingress", protocol="icmp", remote_group_id=admins["id"])
    server = net.port(10, security_groups=[server_group["id"]])
    client = net.port(11, security_groups=[admins["id"]])
    s_ns, c_ns = work.start(server), work.start(client)
    check(stack, c_ns, client, server, "10.93.0.10", "icmp", None, True)
    other = group(api, "others")
    api.update("port", "ports", client["id"], {"security_groups": [other["id"]]})
    check(stack, c_ns, client, server, "10.93.0.10", "icmp", None, False)
    api.update("port", "ports", client["id"], {"security_groups": [other["id"], admins["id"]]})
    check(stack, c_ns, client, server, "10.93.0.10", "icmp", None, True)


def test_a_stateless_group_needs_a_rule_for_the_replies(stack):
    settings, api, work = stack
    net = Net(api, "10.94.0")
    plain = group(api, "plain", stateful=False)
    rule(api, plain["id"], direction="ingress", protocol="tcp", port_range_min=TCP, port_range_max=TCP)
    server = net.port(10, security_groups=[plain["id"]])
    client = net.port(11)
    s_ns, c_ns = work.start(server), work.start(client)
    work.serve(s_ns, TCP)
    check(stack, c_ns, client, server, "10.94.0.10", "tcp", TCP, True)  # the egress-any rules carry replies
    shown = api.request("GET", f"/v2.0/security-groups/{plain['id']}")["security_group"]
    for r in shown["security_group_rules"]:
        if r["direction"] == "egress" and r["ethertype"] == "IPv4":
            api.delete("security-group-rules", r["id"])
    check(stack, c_ns, client, server, "10.94.0.10", "tcp", TCP, False)  # no rule lets the reply out


def test_port_security_off_lets_spoofed_traffic_pass_and_back_on_drops_it(stack):
    settings, api, work = stack
    net = Net(api, "10.95.0")
    anyone = group(api, "anyone")
    rule(api, anyone["id"], direction="ingress", protocol="icmp")
    target = net.port(10, security_groups=[anyone["id"]])
    spoofer = net.port(11)
    t_ns, s_ns = work.start(target), work.start(spoofer)
    ns_run(s_ns, "ip", "addr", "add", "10.95.0.99/24", "dev", "eth0")

    def spoofed_ping() -> bool:
        return ns_run(s_ns, "ping", "-c1", "-W1", "-I", "10.95.0.99", "10.95.0.10", check=False).returncode == 0
    settle(settings.nb_connection)
    assert not spoofed_ping()
    api.update("port", "ports", spoofer["id"], {"port_security_enabled": False, "security_groups": []})
    settle(settings.nb_connection)
    assert wait_for(spoofed_ping, interval=0.3)
    api.update("port", "ports", spoofer["id"], {"port_security_enabled": True})
    settle(settings.nb_connection)
    assert wait_for(lambda: not spoofed_ping(), interval=0.3)
    assert api.show_port(spoofer["id"])["security_groups"] == [default_group(api)["id"]]


def test_an_allowed_address_pair_vip_moves_between_two_ports(stack):
    settings, api, work = stack
    net = Net(api, "10.96.0")
    vip = "10.96.0.100"
    first = net.port(10, allowed_address_pairs=[{"ip_address": vip}])
    second = net.port(11, allowed_address_pairs=[{"ip_address": vip}])
    client = net.port(12)
    outsider = net.port(13)  # no pair: the VIP on it is spoofing
    f_ns, s_ns, c_ns, o_ns = (work.start(p) for p in (first, second, client, outsider))
    for ns in (f_ns, s_ns, o_ns):
        work.serve(ns, TCP)
    settle(settings.nb_connection)

    def holder() -> str | None:
        ns_run(c_ns, "ip", "neigh", "flush", "dev", "eth0", check=False)
        return probe(c_ns, vip, TCP)["echo"]

    ns_run(f_ns, "ip", "addr", "add", f"{vip}/24", "dev", "eth0")
    assert wait_for(lambda: holder() == f_ns, interval=0.3)
    ns_run(f_ns, "ip", "addr", "del", f"{vip}/24", "dev", "eth0")
    ns_run(s_ns, "ip", "addr", "add", f"{vip}/24", "dev", "eth0")
    assert wait_for(lambda: holder() == s_ns, interval=0.3)
    ns_run(s_ns, "ip", "addr", "del", f"{vip}/24", "dev", "eth0")
    ns_run(o_ns, "ip", "addr", "add", f"{vip}/24", "dev", "eth0")
    assert holder() is None and not wait_for(lambda: holder() == o_ns, 3, 0.3)


LINE_ECHO = """
import socket, sys
srv = socket.socket(); srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("0.0.0.0", int(sys.argv[1]))); srv.listen(1); open(sys.argv[2], "w").close()
conn, _ = srv.accept()
while data := conn.recv(100):
    conn.sendall(data)
"""
TALKER = """
import os, socket, sys, time
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=5)
def talk(word):
    s.settimeout(3)
    try:
        s.sendall(word.encode()); return s.recv(100).decode() == word
    except OSError:
        return False
print("before", talk("a"), flush=True)
while not os.path.exists(sys.argv[3]):
    time.sleep(0.05)
print("after", talk("b"), flush=True)
"""


def test_deleting_a_rule_cuts_connections_it_allowed(stack):
    """As with Neutron's OVN driver: OVN re-evaluates the ACLs for every packet of an established
    connection in the request direction, so once the allowing rule is gone the next packet hits
    the drop ACL, which marks the connection blocked (ct_mark.blocked) and drops the rest."""
    settings, api, work = stack
    net = Net(api, "10.97.0")
    web = group(api, "web")
    ssh = rule(api, web["id"], direction="ingress", protocol="tcp", port_range_min=TCP, port_range_max=TCP)
    server, client = net.port(10, security_groups=[web["id"]]), net.port(11)
    s_ns, c_ns = work.start(server), work.start(client)
    ready, go = work.tmp / f"{s_ns}.line", work.tmp / f"{c_ns}.go"
    work.servers.append(subprocess.Popen(["nsenter", f"--net=/run/netns/{s_ns}", sys.executable, "-c", LINE_ECHO,
                                          str(TCP), str(ready)]))
    assert wait_for(ready.exists, interval=0.3)
    settle(settings.nb_connection)
    talker = subprocess.Popen(["nsenter", f"--net=/run/netns/{c_ns}", sys.executable, "-c", TALKER, "10.97.0.10",
                               str(TCP), str(go)], stdout=subprocess.PIPE, text=True)
    work.servers.append(talker)
    assert talker.stdout.readline().split() == ["before", "True"]
    api.delete("security-group-rules", ssh["id"])
    settle(settings.nb_connection)
    go.touch()
    assert talker.stdout.readline().split() == ["after", "False"]
    traced = run_trace(api, settings, client["id"], server["id"], "tcp", TCP)
    assert traced["verdict"] == "dropped" and "no rule of the security groups" in traced["reason"]


def _ovnet(settings, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ovnet.cli.main", *args, "--state-dir", str(settings.state_dir)],
                          capture_output=True, text=True, timeout=120)


def test_trace_cli_as_a_member_tells_its_own_objects_only(stack):
    settings, api, work = stack
    made = _ovnet(settings, "project", "create", "sg-member")
    assert made.returncode == 0, made.stderr
    token = next(line.split()[1] for line in made.stdout.splitlines() if line.startswith("token:"))
    admin_port = Net(api, "10.98.0").port(10)
    with ApiClient(settings.api_endpoints, token) as member:
        net = Net(member, "10.99.0")
        quiet = group(member, "quiet")
        a, b, c = net.port(10), net.port(11), net.port(12, security_groups=[quiet["id"]])
        down = net.port(14, admin_state_up=False)
        for p in (a, b, c, down):
            work.start(p)
        unbound = net.port(13)  # no workload: no host has it
    settle(settings.nb_connection)
    ok = _ovnet(settings, "trace", "--from", "p10", "--to", "10.99.0.11", "--json", "--token", token)
    assert ok.returncode == 0, ok.stderr
    result = json.loads(ok.stdout)
    assert result["verdict"] == "delivered" and "security group default" in result["reason"]
    assert result["to"]["port"] == b["id"] and result["reply"]["verdict"] == "delivered"
    # ovn-trace prints datapath UUIDs; they are told as the member's own network
    switch = f"switch of network sg-10.99.0 ({net.network['id']})"
    assert result["request"]["steps"][0]["text"] == switch, result
    # binding:host_id is the admin's: the member is told its port is bound, not the host's name
    host = api.show_port(b["id"])["binding:host_id"]
    assert host and result["request"]["steps"][-1]["text"] == f"delivered to port p11 ({b['id']}) on its host", result
    assert host not in ok.stdout
    # ... and so to the admin, who sees every project's objects (default token: the admin's)
    as_admin = _ovnet(settings, "trace", "--from", a["id"], "--to", "10.99.0.11")
    assert as_admin.returncode == 0 and f"- {switch}" in as_admin.stdout, as_admin.stdout + as_admin.stderr
    assert f"- delivered to port p11 ({b['id']}) on {host}\n" in as_admin.stdout, as_admin.stdout
    # a ping to a port no host has is lost, and a disabled port passes nothing: neither is "delivered"
    nobody = _ovnet(settings, "trace", "--from", "p10", "--to", unbound["id"], "--token", token)
    assert nobody.returncode == 1, nobody.stdout + nobody.stderr
    assert f"verdict: dropped — output to port p13 ({unbound['id']}), which is not bound to any host" in nobody.stdout
    disabled = _ovnet(settings, "trace", "--from", "p10", "--to", down["id"], "--token", token)
    assert disabled.returncode == 1, disabled.stdout + disabled.stderr
    assert f"verdict: dropped — port p14 ({down['id']}) is administratively down" in disabled.stdout, disabled.stdout
    itself = _ovnet(settings, "trace", "--from", "p10", "--to", "p10", "--token", token)
    assert itself.returncode == 1, itself.stdout + itself.stderr
    assert f"verdict: dropped — the destination is the sending port p10 ({a['id']}) itself" in itself.stdout, \
        itself.stdout
    with ApiClient(settings.api_endpoints, token) as member:
        router = member.create("router", "routers", {"name": "sg-member-r"})
        member.request("PUT", f"/v2.0/routers/{router['id']}/add_router_interface",
                       json={"subnet_id": net.subnet["id"]})
    settle(settings.nb_connection)
    for group_address in ("255.255.255.255", "224.0.0.1"):
        flooded = _ovnet(settings, "trace", "--from", "p10", "--to", group_address, "--token", token)
        assert flooded.returncode == 1, flooded.stdout + flooded.stderr
        assert f"verdict: dropped — router sg-member-r ({router['id']}) has no route for it (broadcast and " \
            "multicast addresses are never routed)" in flooded.stdout, flooded.stdout
    blocked = _ovnet(settings, "trace", "--from", a["id"], "--to", c["id"], "--proto", "tcp", "--dport", "22",
                     "--token", token)
    assert blocked.returncode == 1, blocked.stderr
    assert "no rule of the security groups of port p12" in blocked.stdout and "quiet" in blocked.stdout
    hidden = _ovnet(settings, "trace", "--from", admin_port["id"], "--to", "10.99.0.11", "--token", token)
    assert hidden.returncode == 2 and "no port or workload" in hidden.stderr
