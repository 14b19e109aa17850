"""HA gateways: with two gateway chassis, SIGKILL the active one's ovn-controller and ovs-vswitchd
while the outside host pings a floating IP; the other chassis takes over and replies resume."""

from __future__ import annotations

import os
import signal
import subprocess
import time

import pytest
from pyroute2 import netns

from ovnet.apiclient import ApiClient
from ovnet.host.agentclient import AgentClient
from ovnet.runtime import allinone as aio
from ovnet.runtime import hosts
from ovnet.runtime.chassis import chassis_services
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
        name = f"hv{settings.chassis_name[-4:]}"
        hosts.add(settings, name)
        host = hosts.host_settings(settings, name)
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
            assert wait_until(lambda: None if active_gateway(settings, gw_port) else "unbound", 15.0) is None
            active = active_gateway(settings, gw_port)
            # The workload lives on the chassis that survives.
            survivor = host if active == settings.chassis_name else settings
            port = api.create_port(network_id=net["id"])
            netns.create(ns)
            with AgentClient(survivor.agent_socket) as agent:
                agent.bind(port["id"], "veth", ns)
            fip = api.create("floatingip", "floatingips", {"floating_network_id": ext["id"], "port_id": port["id"]})
            address = fip["floating_ip_address"]
            assert first_reply_s(settings.public_netns, address, timeout=10.0) is not None

            victim = aio.local_chassis(host if survivor is settings else settings)
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
            print(f"gateway failover outage: {outage:.2f} s")
            assert outage < RESUME_LIMIT_S
            assert wait_until(lambda: None if active_gateway(settings, gw_port) == survivor.chassis_name
                              else "not moved", 10.0) is None
        finally:
            if ns in netns.listnetns():
                netns.remove(ns)
            hosts.remove(settings, name)
