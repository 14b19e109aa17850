"""containerd's ``ctr run --cni`` on an ovnet network: a running task gets an ACTIVE port and its
address; ``ctr task kill`` + ``ctr container rm`` send no DEL (cni.md trace 41), so the agent's
sweep removes the port in its next round; ``ctr run --rm`` sends DEL with an empty CNI_NETNS."""

from __future__ import annotations

import shutil
import time

import pytest

from ovnet.testbed.containerd import NAMESPACE, PrivateContainerd

pytestmark = [pytest.mark.root, pytest.mark.ovn, pytest.mark.containerd]

IMAGE = "localhost/bb:latest"


@pytest.fixture(scope="module")
def ctrd(cni_env, tmp_path_factory):
    if shutil.which("containerd") is None or shutil.which("ctr") is None:
        pytest.fail("containerd is missing: `make setup` installs the Debian package containerd")
    archive = tmp_path_factory.mktemp("img") / "bb.tar"
    cni_env.podman.podman("save", "--format", "docker-archive", "-o", str(archive), "localhost/bb")
    containerd = PrivateContainerd()
    try:
        containerd.start()
        containerd.import_image(archive, "localhost/bb")
        yield containerd
    finally:
        containerd.destroy()


def _run(ctrd, env, *args: str, timeout: float = 120.0):
    return ctrd.ctr("run", "--cni", "--snapshotter", "native", *args, cni_conf_dir=env.conf_dir,
                    cni_bin_dir=env.bin_dir, timeout=timeout)


def test_ctr_run_gets_an_active_port_and_kill_rm_is_swept(cni_env, ctrd):
    env = cni_env
    _run(ctrd, env, "-d", IMAGE, "t1", "sleep", "600")
    [port] = env.wait_ports(1)
    assert port["device_id"] == f"{NAMESPACE}-t1" and port["status"] == "ACTIVE"
    assert port["id"] in env.ovs_port_ids()
    inside = ctrd.ctr("task", "exec", "--exec-id", "ip", "t1", "ip", "addr", "show", "eth0").stdout
    assert f"inet {port['fixed_ips'][0]['ip_address']}/24" in inside

    ctrd.ctr("task", "kill", "-s", "SIGKILL", "t1")
    deadline = time.monotonic() + 30
    while ctrd.ctr("task", "delete", "t1", check=False).returncode != 0 and time.monotonic() < deadline:
        time.sleep(0.2)  # the task is deletable once stopped
    ctrd.ctr("containers", "rm", "t1")
    env.forget_cached_result(f"{NAMESPACE}-t1")  # ctr's cache of the ADD no DEL removed
    assert env.wait_ports(0, timeout=30) == []  # no DEL came: the sweep removed it
    assert port["id"] not in env.ovs_port_ids()


def test_ctr_run_rm_dels_with_an_empty_netns(cni_env, ctrd):
    env = cni_env
    done = _run(ctrd, env, "--rm", IMAGE, "t2", "ip", "-o", "-4", "addr", "show", "eth0")
    assert "inet " in done.stdout
    # Gone within 2 s; the sweep's grace (3 s) no longer tells DEL from the sweep here, since a veth that
    # vanished with its namespace is swept in the next 1 s round too.
    assert env.wait_ports(0, timeout=2.0) == []
    assert env.ovs_port_ids() == set()
