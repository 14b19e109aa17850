"""Security groups: rule create -> enforced (p50/p95), ACL count vs ports in a group, TCP with 100
rules on the port as a ratio to none. On a private all-in-one, real OVN, workloads in namespaces.

    .venv/bin/python bench/bench_secgroups.py [--rules 100] [--ports 200] [--mbytes 100]

- enforced: a server port whose group allows nothing listens on ``--rules`` TCP ports; for each a
  rule is created through the API (POST, which returns once NB has it) and a client in another
  namespace retries a TCP connect every 10 ms until it succeeds: the time from the POST to the
  first connection, p50/p95.
- ACLs: the ACL rows of the group's Port_Group in NB with 1, 50 and ``--ports`` member ports.
- TCP: ``--mbytes`` MB client -> server, the server's group holding 1 rule vs the same rule among
  100 (others on other ports), interleaved three times each; the median throughput ratio.
"""

from __future__ import annotations

import argparse
import json
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from pyroute2 import netns

from ovnet.apiclient import ApiClient
from ovnet.config import Settings
from ovnet.host.agentclient import AgentClient
from ovnet.ovn.acls import port_group_name
from ovnet.runtime import allinone
from ovnet.runtime.process import free_port

BASE_PORT = 20000
LISTENER = """
import selectors, socket, sys
sel = selectors.DefaultSelector()
for p in range(int(sys.argv[1]), int(sys.argv[1]) + int(sys.argv[2])):
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", p)); s.listen(64); s.setblocking(False); sel.register(s, selectors.EVENT_READ)
print("ready", flush=True)
while True:
    for key, _ in sel.select():
        conn, _ = key.fileobj.accept(); conn.close()
"""
KNOCKER = """
import socket, sys, time
for line in sys.stdin:
    host, port = line.split()
    while True:
        s = socket.socket(); s.settimeout(0.01)
        try:
            s.connect((host, int(port))); s.close(); break
        except OSError:
            s.close(); time.sleep(0.01)
    print("open", flush=True)
"""


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]


def in_ns(ns: str, *argv: str, **kw) -> subprocess.Popen:
    return subprocess.Popen(["nsenter", f"--net=/run/netns/{ns}", *argv], text=True, **kw)


def nbctl(settings: Settings, *args: str) -> str:
    return subprocess.run(["ovn-nbctl", f"--db={settings.nb_connection}", *args], capture_output=True, text=True,
                          check=True).stdout.strip()


def acl_count(settings: Settings, group_id: str) -> int:
    acls = nbctl(settings, "get", "Port_Group", port_group_name(group_id), "acls").strip("[]")
    return len([u for u in acls.split(",") if u.strip()])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rules", type=int, default=100)
    parser.add_argument("--ports", type=int, default=200)
    parser.add_argument("--mbytes", type=int, default=100)
    args = parser.parse_args()
    tag = secrets.token_hex(3)
    made: list[str] = []
    procs: list[subprocess.Popen] = []
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(state_dir=Path(tmp) / "state", nb_port=free_port(), sb_port=free_port(),
                            api_port=free_port(), chassis_name=f"bench-{tag}", netns=f"bench-{tag}",
                            docker_plugin=f"bench-{tag}", agent_sync_interval=3600.0)
        try:
            allinone.up(settings)
            with ApiClient.from_settings(settings) as api, AgentClient(settings.agent_socket) as agent:
                run(settings, api, agent, args, made, procs)
        finally:
            for proc in procs:
                proc.kill()
            for name in made:
                if name in netns.listnetns():
                    netns.remove(name)
            allinone.down(settings, purge=True)


def run(settings, api, agent, args, made, procs) -> None:
    def workload(port: dict) -> str:
        name = f"sgb-{secrets.token_hex(4)}"
        netns.create(name)
        made.append(name)
        agent.bind(port["id"], "veth", name)
        return name

    net = api.create_network(name="bench")
    sub = api.create_subnet(network_id=net["id"], cidr="10.30.0.0/22", ip_version=4)
    closed = api.create("security_group", "security-groups", {"name": "closed"})
    server = api.create_port(network_id=net["id"], security_groups=[closed["id"]],
                             fixed_ips=[{"subnet_id": sub["id"], "ip_address": "10.30.0.10"}])
    client = api.create_port(network_id=net["id"], fixed_ips=[{"subnet_id": sub["id"], "ip_address": "10.30.0.11"}])
    s_ns, c_ns = workload(server), workload(client)
    listener = in_ns(s_ns, sys.executable, "-c", LISTENER, str(BASE_PORT), str(args.rules), stdout=subprocess.PIPE)
    procs.append(listener)
    assert listener.stdout.readline().strip() == "ready"
    knocker = in_ns(c_ns, sys.executable, "-c", KNOCKER, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    procs.append(knocker)
    subprocess.run(["ovn-nbctl", f"--db={settings.nb_connection}", "--wait=hv", "sync"], check=True)

    enforced = []
    for i in range(args.rules):
        started = time.monotonic()
        api.create("security_group_rule", "security-group-rules", {
            "security_group_id": closed["id"], "direction": "ingress", "protocol": "tcp",
            "port_range_min": BASE_PORT + i, "port_range_max": BASE_PORT + i})
        knocker.stdin.write(f"10.30.0.10 {BASE_PORT + i}\n")
        knocker.stdin.flush()
        assert knocker.stdout.readline().strip() == "open"
        enforced.append(time.monotonic() - started)

    counts = {}
    many = api.create("security_group", "security-groups", {"name": "many"})
    api.create("security_group_rule", "security-group-rules", {
        "security_group_id": many["id"], "direction": "ingress", "protocol": "tcp", "port_range_min": 22,
        "port_range_max": 22})
    members = 0
    for total in (1, 50, args.ports):
        bodies = [{"network_id": net["id"], "security_groups": [many["id"]]} for _ in range(total - members)]
        api.create_bulk("port", "ports", bodies)
        members = total
        subprocess.run(["ovn-nbctl", f"--db={settings.nb_connection}", "--wait=sb", "sync"], check=True)
        counts[total] = acl_count(settings, many["id"])

    # TCP: the server's group is "closed", which now allows BASE_PORT .. BASE_PORT + rules - 1;
    # "one" allows only BASE_PORT. The transfer goes to an echo server on BASE_PORT + rules.
    echo_port = BASE_PORT + args.rules
    api.create("security_group_rule", "security-group-rules", {
        "security_group_id": closed["id"], "direction": "ingress", "protocol": "tcp",
        "port_range_min": echo_port, "port_range_max": echo_port})
    one = api.create("security_group", "security-groups", {"name": "one"})
    api.create("security_group_rule", "security-group-rules", {
        "security_group_id": one["id"], "direction": "ingress", "protocol": "tcp", "port_range_min": echo_port,
        "port_range_max": echo_port})
    ready = Path(tempfile.mkdtemp()) / "echo.ready"
    procs.append(in_ns(s_ns, sys.executable, "-m", "ovnet.testbed.echo", "serve", "srv", "--port", str(echo_port),
                       "--ready", str(ready), "--netns", s_ns))
    while not ready.exists():
        time.sleep(0.05)
    rates: dict[str, list[float]] = {"1 rule": [], f"{args.rules + 1} rules": []}
    for _ in range(3):
        for label, group in (("1 rule", one), (f"{args.rules + 1} rules", closed)):
            api.update("port", "ports", server["id"], {"security_groups": [group["id"]]})
            subprocess.run(["ovn-nbctl", f"--db={settings.nb_connection}", "--wait=hv", "sync"], check=True)
            done = subprocess.run(["nsenter", f"--net=/run/netns/{c_ns}", sys.executable, "-m", "ovnet.testbed.echo",
                                   "send", "10.30.0.10", "--port", str(echo_port), "--bytes",
                                   str(args.mbytes * 1_000_000)], capture_output=True, text=True, check=True)
            result = json.loads(done.stdout)
            rates[label].append(result["bytes"] * 8 / result["seconds"] / 1e6)

    print(f"rule create -> enforced over {len(enforced)} rules: p50 {percentile(enforced, 0.5) * 1000:.0f} ms, "
          f"p95 {percentile(enforced, 0.95) * 1000:.0f} ms")
    print("ACLs of a one-rule group by member ports: " + ", ".join(f"{p} ports: {c}" for p, c in counts.items()))
    base = statistics.median(rates["1 rule"])
    for label, values in rates.items():
        print(f"TCP with {label}: median {statistics.median(values):.0f} Mbit/s "
              f"(ratio {statistics.median(values) / base:.2f})")


if __name__ == "__main__":
    main()
