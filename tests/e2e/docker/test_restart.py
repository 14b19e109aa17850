"""Restarts and crashes: the plugin (agent) killed with SIGKILL, dockerd restarted with and without
live-restore and killed, and the GC of endpoints dockerd no longer knows and of addresses it never
claimed (libnetwork.md pitfalls 2, 16-18). Containers with --restart=always must come back with working networking."""

from __future__ import annotations

import json
import os
import secrets
import signal
import time

import pytest

from ovnet.host.docker.protocol import MAC_OPTION
from ovnet.runtime import allinone as aio
from ovnet.runtime.process import pid_alive, read_pid
from tests.helpers.docker_http import post
from tests.helpers.wait import wait_for

pytestmark = [pytest.mark.root, pytest.mark.ovn, pytest.mark.docker]


def running(d, name: str) -> bool:
    return d.docker("inspect", "-f", "{{.State.Running}}", name, check=False).stdout.strip() == "true"


def docker_ports(d, network_id: str) -> dict[str, dict]:
    return {p["device_id"]: p for p in d.api.list_ports(network_id=network_id)}


@pytest.fixture
def net_with_keeper(ovnet_docker):
    """A Docker network with a --restart=always container at .88 and a peer container at .2x."""
    d = ovnet_docker
    name, _ = d.network_create("--subnet", "10.80.0.0/24")
    keeper = f"{name}-keep"
    d.docker("run", "-d", "--name", keeper, "--restart=always", "--network", name, "--ip", "10.80.0.88",
             "bb", "sleep", "3600")
    yield name, keeper
    ids = d.docker("ps", "-aq", "--filter", f"network={name}", check=False).stdout.split()
    if ids:
        d.docker("rm", "-f", *ids, check=False)
    d.docker("network", "rm", name, check=False)


def ping_from_new_container(d, network: str, address: str) -> None:
    d.docker("run", "--rm", "--network", network, "bb", "ping", "-c", "3", "-W", "2", address)


def test_plugin_kill9_and_restart(ovnet_docker, net_with_keeper):
    d = ovnet_docker
    network, keeper = net_with_keeper
    pidfile = d.settings.run_dir / "ovnet-agent.pid"
    agent = read_pid(pidfile)
    os.kill(agent, signal.SIGKILL)
    wait_for(lambda: not pid_alive(agent), timeout=30.0, interval=0.2, what="the agent to die")
    # Traffic does not need the agent: the veth and the OVS port stay.
    ping_from_new_container_fails = d.docker("run", "--rm", "--network", network, "bb", "true", check=False)
    assert ping_from_new_container_fails.returncode != 0  # no plugin: dockerd cannot make endpoints
    aio.up(d.settings)  # starts what is not running: the agent
    assert read_pid(pidfile) != agent
    ping_from_new_container(d, network, "10.80.0.88")
    net = d.ovnet_network(network)
    assert len(d.api.list_ports(network_id=net["id"])) == 1  # the keeper's; the failed run left none


@pytest.mark.parametrize("live_restore", [False, True], ids=["restart", "live-restore"])
def test_dockerd_restart_brings_restart_always_container_back(ovnet_docker, net_with_keeper, live_restore):
    d = ovnet_docker
    network, keeper = net_with_keeper
    net = d.ovnet_network(network)
    if live_restore:  # live-restore must be on in the dockerd that stops, not only in the next one
        d.dockerd.stop()
        d.dockerd.live_restore = True
        d.dockerd.start()
        wait_for(lambda: running(d, keeper), timeout=30.0, interval=0.2, what="the restart-always container")
    before = docker_ports(d, net["id"])
    d.dockerd.stop()
    d.dockerd.start()
    wait_for(lambda: running(d, keeper), timeout=30.0, interval=0.2, what="the restart-always container")
    d.docker("exec", keeper, "ip", "-o", "addr", "show", "eth0")
    ping_from_new_container(d, network, "10.80.0.88")
    after = docker_ports(d, net["id"])
    assert len(after) == 1
    if live_restore:
        assert after == before  # the same endpoint and port survived; replays changed nothing
    # RequiresRequestReplay: dockerd replayed RequestPool/RequestAddress at start and all succeeded.
    assert "Failed to allocate" not in d.dockerd.log.read_text(errors="replace")
    assert [f["ip_address"] for f in next(iter(after.values()))["fixed_ips"]] == ["10.80.0.88"]
    d.dockerd.live_restore = False


def test_dockerd_sigkill_and_start(ovnet_docker, net_with_keeper):
    d = ovnet_docker
    network, keeper = net_with_keeper
    net = d.ovnet_network(network)
    d.dockerd.kill()
    d.dockerd.start()
    wait_for(lambda: running(d, keeper), timeout=30.0, interval=0.2, what="the restart-always container")
    ping_from_new_container(d, network, "10.80.0.88")
    endpoint = d.docker("inspect", "-f", "{{range .NetworkSettings.Networks}}{{.EndpointID}}{{end}}",
                        keeper).stdout.strip()
    wait_for(lambda: set(docker_ports(d, net["id"])) == {endpoint}, timeout=30.0, interval=0.2,
             what="stale endpoints to go")


def test_gc_removes_ports_of_endpoints_dockerd_does_not_know(ovnet_docker, net_with_keeper):
    d = ovnet_docker
    network, keeper = net_with_keeper
    net = d.ovnet_network(network)
    subnet = d.api.list_subnets(network_id=net["id"])[0]
    docker_id = d.docker("network", "inspect", "-f", "{{.Id}}", network).stdout.strip()
    # What a failed teardown leaves: a port of an endpoint of this network that dockerd forgot.
    ghost = d.api.create_port(network_id=net["id"], device_id=secrets.token_hex(32), device_owner="compute:docker",
                              fixed_ips=[{"subnet_id": subnet["id"], "ip_address": "10.80.0.99"}],
                              **{"binding:host_id": d.settings.chassis_name,
                                 "binding:profile": {"docker_network_id": docker_id}})
    # A port of a Docker network this dockerd does not have belongs to another engine: kept.
    foreign = d.api.create_port(network_id=net["id"], device_id=secrets.token_hex(32), device_owner="compute:docker",
                                fixed_ips=[{"subnet_id": subnet["id"], "ip_address": "10.80.0.98"}],
                                **{"binding:host_id": d.settings.chassis_name,
                                   "binding:profile": {"docker_network_id": secrets.token_hex(32)}})
    wait_for(lambda: ghost["id"] not in {p["id"] for p in d.api.list_ports(network_id=net["id"])},
             timeout=30.0, interval=0.2, what="the GC to remove the ghost port")
    time.sleep(2 * d.settings.sync_interval + 1)  # two more rounds: the foreign port stays
    assert foreign["id"] in {p["id"] for p in d.api.list_ports(network_id=net["id"])}
    d.api.delete_port(foreign["id"])
    assert len(d.api.list_ports(network_id=net["id"])) == 1 and running(d, keeper)
    ping_from_new_container(d, network, "10.80.0.88")


def test_an_address_dockerd_never_claimed_is_released_after_the_grace_period(ovnet_docker):
    d = ovnet_docker
    network, _ = d.network_create("--subnet", "10.81.0.0/24")
    net = d.ovnet_network(network)
    try:
        # What a dockerd that died between RequestAddress and CreateEndpoint leaves: an address
        # answered, whose CreateEndpoint (and ReleaseAddress) never comes.
        request = {"PoolID": "10.81.0.0/24", "Address": "", "Options": {MAC_OPTION: "02:00:00:81:00:09"}}
        status, body, _ = post(d.settings.docker_plugin_socket, "IpamDriver.RequestAddress",
                               json.dumps(request).encode())
        assert status == 200 and body.get("Address", "").startswith("10.81.0."), body
        [port] = d.api.list_ports(network_id=net["id"])
        assert port["device_id"] == ""

        wait_for(lambda: not d.api.list_ports(network_id=net["id"]),
                 timeout=d.settings.docker_ipam_grace_period + 60, interval=0.5,
                 what="the agent to sweep the port no endpoint claimed")
        d.docker("run", "--rm", "--network", network, "--ip", body["Address"].split("/")[0], "bb", "true")
    finally:
        d.docker("network", "rm", network, check=False)
