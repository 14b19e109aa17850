"""Podman 4.3 (CNI backend) on an ovnet network through ``ovnet cni install``: run, static IP and
MAC, network connect/disconnect, stop/start, rm -f, a pod, and a namespace removed behind
podman's back. After each step the API and OVS hold exactly the ports they should."""

from __future__ import annotations

import json
import subprocess

import pytest

from tests.e2e.cni.conftest import ovnet_cli
from tests.helpers.wait import wait_for

pytestmark = [pytest.mark.root, pytest.mark.ovn, pytest.mark.podman]

IMAGE = "localhost/bb"


def _inspect(env, container: str) -> dict:
    return json.loads(env.podman.podman("inspect", container).stdout)[0]


def _settled(env, expected: int) -> list[dict]:
    """The CNI ports once there are ``expected``; asserts API and OVS agree on them."""
    ports = env.wait_ports(expected)
    assert len(ports) == expected, ports
    assert {p["id"] for p in ports} == env.ovs_port_ids()
    return ports


def test_run_ping_and_rm_leave_nothing(cni_env):
    env = cni_env
    a = env.podman.podman("run", "-d", "--network", env.name, IMAGE, "sleep", "600").stdout.strip()
    b = env.podman.podman("run", "-d", "--network", env.name, IMAGE, "sleep", "600").stdout.strip()
    try:
        ports = {p["device_id"]: p for p in _settled(env, 2)}
        assert set(ports) == {a, b}
        for cid in (a, b):
            port = ports[cid]
            assert port["status"] == "ACTIVE" and "cni.ifname:eth0" in port["tags"]
            seen = _inspect(env, cid)["NetworkSettings"]["Networks"][env.name]
            assert seen["IPAddress"] == port["fixed_ips"][0]["ip_address"]
            assert seen["MacAddress"] == port["mac_address"]
        target = ports[b]["fixed_ips"][0]["ip_address"]
        ping = env.podman.podman("exec", a, "ping", "-c", "2", "-W", "2", target, check=False)
        assert ping.returncode == 0, ping.stdout + ping.stderr
    finally:
        env.podman.podman("rm", "-f", "-t", "0", a, b)
    _settled(env, 0)


def test_static_ip_and_mac(cni_env):
    env = cni_env
    subnet = env.api.list_subnets(network_id=env.network["id"])[0]
    ip = subnet["cidr"].rsplit(".", 1)[0] + ".77"
    mac = "02:42:0a:00:00:77"
    cid = env.podman.podman("run", "-d", "--network", env.name, "--ip", ip, "--mac-address", mac, IMAGE,
                            "sleep", "600").stdout.strip()
    try:
        [port] = _settled(env, 1)
        assert port["fixed_ips"][0]["ip_address"] == ip and port["mac_address"] == mac
        inside = env.podman.podman("exec", cid, "ip", "addr", "show", "eth0").stdout
        assert f"inet {ip}/24" in inside and mac in inside
    finally:
        env.podman.podman("rm", "-f", "-t", "0", cid)
    _settled(env, 0)


def test_connect_disconnect_stop_start(cni_env):
    env = cni_env
    second = env.api.create_network(name=f"{env.network['name']}-2")
    env.api.create_subnet(network_id=second["id"], cidr="10.250.9.0/24", ip_version=4)
    ovnet_cli(env.settings, "cni", "install", second["id"], "--name", f"{env.name}-2", "--conf-dir",
              str(env.conf_dir), "--bin-dir", str(env.bin_dir))
    cid = env.podman.podman("run", "-d", "--network", env.name, "--name", "cs1", IMAGE, "sleep", "600").stdout.strip()
    try:
        _settled(env, 1)
        env.podman.podman("network", "connect", f"{env.name}-2", cid)
        [extra] = env.api.list_ports(network_id=second["id"], device_owner="compute:cni")
        assert "cni.ifname:eth1" in extra["tags"] and extra["device_id"] == cid
        assert "eth1" in env.podman.podman("exec", cid, "ip", "-o", "link").stdout
        env.podman.podman("network", "disconnect", f"{env.name}-2", cid)
        # The port's and the veth's deletions follow the DEL's answer in the agent: within 15 s on a
        # loaded machine, long before the 60 s sweep.
        assert wait_for(lambda: not env.api.list_ports(network_id=second["id"]), 15.0)
        assert wait_for(lambda: "eth1" not in env.podman.podman("exec", cid, "ip", "-o", "link").stdout, 15.0)
        first = _settled(env, 1)[0]

        env.podman.podman("stop", "-t", "0", cid)
        _settled(env, 0)
        env.podman.podman("start", cid)
        [again] = _settled(env, 1)
        assert again["id"] != first["id"] and again["status"] == "ACTIVE"
    finally:
        env.podman.podman("rm", "-f", "-t", "0", cid)
        ovnet_cli(None, "cni", "uninstall", f"{env.name}-2", "--conf-dir", str(env.conf_dir),
                  "--bin-dir", str(env.bin_dir))
    _settled(env, 0)
    env.api.delete_network(second["id"])
    assert (env.bin_dir / "ovnet").exists()  # the first network still uses the plugin


def test_pod_with_two_containers_shares_one_port(cni_env):
    env = cni_env
    pod = "pod-" + env.name
    env.podman.podman("pod", "create", "--name", pod, "--network", env.name)
    try:
        one = env.podman.podman("run", "-d", "--pod", pod, IMAGE, "sleep", "600").stdout.strip()
        two = env.podman.podman("run", "-d", "--pod", pod, IMAGE, "sleep", "600").stdout.strip()
        [port] = _settled(env, 1)
        infra = json.loads(env.podman.podman("pod", "inspect", pod).stdout)["InfraContainerID"]
        assert port["device_id"] == infra
        ip = port["fixed_ips"][0]["ip_address"]
        for cid in (one, two):  # both see the pod's one interface
            assert f"inet {ip}/" in env.podman.podman("exec", cid, "ip", "addr", "show", "eth0").stdout
    finally:
        env.podman.podman("pod", "rm", "-f", "-t", "0", pod)
    _settled(env, 0)


def test_netns_removed_behind_podmans_back_is_swept(cni_env):
    env = cni_env
    cid = env.podman.podman("run", "-d", "--network", env.name, IMAGE, "sleep", "600").stdout.strip()
    [port] = _settled(env, 1)
    sandbox = _inspect(env, cid)["NetworkSettings"]["SandboxKey"]
    # Killing the container and unmounting its netns: podman then skips DEL (cni.md B.2, trace 20).
    subprocess.run(["umount", sandbox], check=False, capture_output=True)
    env.podman.podman("rm", "-f", "-t", "0", cid)
    env.forget_cached_result(cid)  # podman skipped DEL and leaves its cache behind
    gone = env.wait_ports(0, timeout=30)  # the agent's sweep, after the grace period
    assert gone == [] and port["id"] not in env.ovs_port_ids()


def test_a_pooled_network_hands_ready_ports_to_containers_and_goes_with_its_network(cni_env):
    """`ovnet cni install --pool 2`: after a first container the agent keeps two ready ports; the
    next containers get them (their ports become the containers', reachable from each other); a
    removed container's port is deleted as usual; deleting the network takes the ready ports, and
    the reconcile their OVS ports."""
    env = cni_env
    net = env.api.create_network(name=f"{env.network['name']}-pool")
    env.api.create_subnet(network_id=net["id"], cidr="10.250.19.0/24", ip_version=4)
    name = f"{env.name}-p"
    ovnet_cli(env.settings, "cni", "install", net["id"], "--name", name, "--pool", "2", "--conf-dir",
              str(env.conf_dir), "--bin-dir", str(env.bin_dir))

    def ports(owner: str) -> list[dict]:
        return env.api.list_ports(network_id=net["id"], device_owner=owner)

    def pool_full() -> set[str]:
        ready = ports("compute:cni-pool")
        return {p["id"] for p in ready} if len(ready) == 2 and all(p["status"] == "ACTIVE" for p in ready) else set()

    made = []
    try:
        made.append(env.podman.podman("run", "-d", "--network", name, IMAGE, "sleep", "600").stdout.strip())
        ready = wait_for(pool_full, 30.0, 0.1, what="two ready ports")
        for _ in range(2):
            made.append(env.podman.podman("run", "-d", "--network", name, IMAGE, "sleep", "600").stdout.strip())
        mine = {p["device_id"]: p for p in ports("compute:cni")}
        assert set(mine) == set(made) and {mine[c]["id"] for c in made[1:]} == ready
        for cid in made[1:]:
            port = mine[cid]
            assert port["status"] == "ACTIVE" and port["id"] in env.ovs_port_ids()
            assert _inspect(env, cid)["NetworkSettings"]["Networks"][name]["IPAddress"] == \
                port["fixed_ips"][0]["ip_address"]
        target = mine[made[2]]["fixed_ips"][0]["ip_address"]
        ping = env.podman.podman("exec", made[1], "ping", "-c", "2", "-W", "2", target, check=False)
        assert ping.returncode == 0, ping.stdout + ping.stderr
    finally:
        env.podman.podman("rm", "-f", "-t", "0", *made)
        ovnet_cli(None, "cni", "uninstall", name, "--conf-dir", str(env.conf_dir), "--bin-dir", str(env.bin_dir))
    assert wait_for(lambda: not ports("compute:cni"), 30.0)
    refilled = wait_for(pool_full, 30.0, 0.1, what="the pool refilled")

    env.api.delete_network(net["id"])

    assert wait_for(lambda: not refilled & env.ovs_port_ids(), 30.0)  # the agent's reconcile, 1 s apart
