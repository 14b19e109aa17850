"""HA gateways: SIGKILL the active gateway chassis' ovn-controller and ovs-vswitchd while the outside
host pings a floating IP; another chassis takes over and replies resume.

Three chassis, all mapping the public network: a gateway chassis takes over only while BFD to
some other chassis is up (OVN's guard against an isolated chassis claiming the gateway), so with
two the survivor, its only BFD peer dead, would stay passive."""

from __future__ import annotations

import os
import signal
import subprocess
import time

import pytest
from pyroute2 import netns

from ovnet.apiclient import ApiClient
from ovnet.host.agentclient import AgentClient
from ovnet.runtime import hosts
from ovnet.runtime.chassis import chassis_services, local_chassis
from ovnet.runtime.process import wait_until
from ovnet.testbed.pinglog import PingLog, first_reply_s
from tests.helpers.allinone import running_allinone

pytestmark = [pytest.mark.root, pytest.mark.ovn]
RESUME_LIMIT_S = 15.0  # the test asserts traffic resumes; the bench reports the outage (goal <= 3 s)


def active_gateway(settings, gw_port_id: str) -> str | None:
    """The chassis name SB binds the router's chassis-redirect port to (the active gateway)."""
    sb = ["ovn-sbctl", f"--db={settings.sb_connection}", "--bare"]
    uuid = subprocess.run([*sb, "--columns=chassis", "find", "Port_Binding", f"logical_port=cr-lrp-{gw_port_id}"],
                          capture_output=True, text=True, check=True).stdout.strip()
    if not uuid:
        return None
    return subprocess.run([*sb, "--columns=name", "list", "Chassis", uuid], capture_output=True, text=True,
                          check=True).stdout.strip()


def test_gateway_fails_over_to_the_other_chassis(tmp_path):
    with running_allinone(tmp_path) as settings, ApiClient.from_settings(settings) as api:
        names = [f"hv{settings.chassis_name[-4:]}{i}" for i in (2, 3)]
        for name in names:
            hosts.add(settings, name)
        chassis = {s.chassis_name: s for s in [settings, *(hosts.host_settings(settings, n) for n in names)]}
        ns = f"ha-{settings.chassis_name[-6:]}"
        try:
            ext = api.create_network(name="public", **{"router:external": True, "provider:network_type": "flat",
                                                       "provider:physical_network": "public"})
            api.create_subnet(network_id=ext["id"], cidr="10.50.50.0/24", ip_version=4, enable_dhcp=False,
                              allocation_pools=[{"start": "10.50.50.10", "end": "10.50.50.100"}])
            router = api.create("router", "routers", {"name": "ha", "external_gateway_info": {"network_id": ext["id"]}})
            net = api.create_network(name="inside")
            sub = api.create_subnet(network_id=net["id"], cidr="192.168.1.0/24", ip_version=4)
            api.request("PUT", f"/v2.0/routers/{router['id']}/add_router_interface", json={"subnet_id": sub["id"]})
            gw_port = api.list_ports(device_owner="network:router_gateway")[0]["id"]
            assert wait_until(lambda: None if active_gateway(settings, gw_port) else "unbound", 60.0) is None
            active = active_gateway(settings, gw_port)
            # The workload lives on a chassis that survives.
            survivor = next(s for n, s in chassis.items() if n != active)
            # Security groups: the outside host reaches the workload only where a rule lets it in.
            group = api.create("security_group", "security-groups", {"name": "outside"})
            api.create("security_group_rule", "security-group-rules",
                       {"security_group_id": group["id"], "direction": "ingress", "protocol": "icmp"})
            port = api.create_port(network_id=net["id"], security_groups=[group["id"]])
            netns.create(ns)
            with AgentClient(survivor.agent_socket) as agent:
                agent.bind(port["id"], "veth", ns)
            fip = api.create("floatingip", "floatingips", {"floating_network_id": ext["id"], "port_id": port["id"]})
            address = fip["floating_ip_address"]
            first = first_reply_s(settings.public_netns, address, timeout=40.0)
            print(f"first reply after {first} s")
            assert first is not None

            victim = local_chassis(chassis[active])
            ping = PingLog(settings.public_netns, address)
            time.sleep(2.0)
            killed_at = time.time()
            _ovsdb, vswitchd, controller = chassis_services(victim)
            for svc in (controller, vswitchd):
                pid = svc.pid()
                assert pid is not None, svc.name
                os.kill(pid, signal.SIGKILL)
            time.sleep(RESUME_LIMIT_S)
            ping.stop()
            outage = ping.outage_after(killed_at)
            assert outage is not None, "replies never resumed after the active gateway chassis died"
            print(f"gateway failover outage: {outage:.2f} s; {active} -> {active_gateway(settings, gw_port)}; "
                  f"{len(ping.replies)} replies, last at {ping.replies[-1] - killed_at:.1f} s after the kill")
            assert outage < RESUME_LIMIT_S
            assert active_gateway(settings, gw_port) != active
        finally:
            if ns in netns.listnetns():
                netns.remove(ns)
            for name in names:
                hosts.remove(settings, name)
