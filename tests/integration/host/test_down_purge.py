"""``ovnet down --purge`` unplugs every device ovnet plugged first: no veth of a still-bound port
survives in the workload's namespace or the bridge's."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from pyroute2 import IPRoute

from ovnet.host.vif import delete_owned_devices, device_alias
from tests.helpers.hostnet import ApiNetwork, ns_run

pytestmark = [pytest.mark.root, pytest.mark.ovn]


def _links(ns: str) -> list[str]:
    return sorted(link["ifname"] for link in json.loads(ns_run(ns, "ip", "-j", "link").stdout))


def test_delete_owned_devices_takes_ovnet_veths_and_their_workload_ends_only(make_netns):
    bridge_ns, workload_ns = make_netns("ovb"), make_netns()
    with IPRoute(netns=bridge_ns) as ipr:
        ipr.link("add", ifname="vhpurge1", kind="veth", peer="vppurge1")
        ipr.link("set", index=ipr.link_lookup(ifname="vhpurge1")[0], ifalias=device_alias("p-1", "veth"))
        ipr.link("set", index=ipr.link_lookup(ifname="vppurge1")[0], net_ns_fd=workload_ns)
        ipr.link("add", ifname="notours1", kind="veth", peer="notours2")

        ipr.link("add", ifname="vhother1", kind="veth", peer="vpother1")  # another ovnet's, same alias
        ipr.link("set", index=ipr.link_lookup(ifname="vhother1")[0], ifalias=device_alias("p-2", "veth"))

    assert delete_owned_devices(bridge_ns, {"vhpurge1", "notours1"}) == ["vhpurge1"]

    assert _links(workload_ns) == ["lo"]
    assert _links(bridge_ns) == ["lo", "notours1", "notours2", "vhother1", "vpother1"]
    assert delete_owned_devices("ovb-no-such-netns", {"vhpurge1"}) == []


def test_down_purge_of_a_state_dir_without_ovs_touches_no_other_installations_device(tmp_path, make_netns):
    # The new user's finding: purging a state dir whose `up` had failed deleted every ovnet
    # veth in the root namespace, which belonged to the running installation.
    bridge_ns = make_netns("ovb")
    with IPRoute(netns=bridge_ns) as ipr:
        ipr.link("add", ifname="vhlive1", kind="veth", peer="vplive1")
        ipr.link("set", index=ipr.link_lookup(ifname="vhlive1")[0], ifalias=device_alias("p-3", "veth"))
    state = tmp_path / "state"
    state.mkdir()
    (state / "settings.json").write_text(json.dumps({"netns": bridge_ns}))

    done = subprocess.run([sys.executable, "-m", "ovnet.cli.main", "down", "--purge", "--state-dir", str(state)],
                          capture_output=True, text=True, timeout=120)

    assert done.returncode == 0, done.stderr
    assert "unplugged" not in done.stdout
    assert _links(bridge_ns) == ["lo", "vhlive1", "vplive1"]


def test_down_purge_unplugs_bound_ports_veths(allinone, api, agent, make_netns):
    port = ApiNetwork(api, "10.95.0").port(10)
    ns = make_netns()
    device = agent.bind(port["id"], "veth", ns)["device"]

    done = subprocess.run([sys.executable, "-m", "ovnet.cli.main", "down", "--purge", "--state-dir",
                           str(allinone.state_dir)], capture_output=True, text=True, timeout=120)

    assert done.returncode == 0, done.stderr
    assert f"{device} unplugged" in done.stdout
    assert _links(ns) == ["lo"]
    assert not allinone.state_dir.exists()
