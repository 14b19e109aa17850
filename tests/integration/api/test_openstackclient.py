"""Acceptance: the real python-openstackclient drives ovnet-server, unmodified (issue 3 "Done when").

Every step goes through `openstack --os-cloud ovnet ... -f json` with the clouds.yaml the server
wrote; after each step ``endpoint.after`` runs, where NB checks plug in (see conftest.py).
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.helpers.osc import OPENSTACK, Osc

pytestmark = pytest.mark.skipif(not OPENSTACK.exists(), reason=f"python-openstackclient not installed at {OPENSTACK}")


def test_openstackclient_network_subnet_port_lifecycle(lifecycle_endpoint):
    endpoint = lifecycle_endpoint
    osc = Osc(endpoint.clouds_yaml)

    net = osc.json("network", "create", "acc-net")
    assert net["name"] == "acc-net" and net["mtu"] == 1442 and net["status"] == "ACTIVE"
    endpoint.after("network", net["id"], net)

    v4 = osc.json("subnet", "create", "--network", "acc-net", "--subnet-range", "10.20.0.0/24", "acc-v4")
    assert v4["gateway_ip"] == "10.20.0.1" and v4["allocation_pools"] == [{"start": "10.20.0.2", "end": "10.20.0.254"}]
    endpoint.after("subnet", v4["id"], v4)
    v6 = osc.json("subnet", "create", "--network", "acc-net", "--ip-version", "6", "--subnet-range", "fd20::/64",
                  "--ipv6-address-mode", "dhcpv6-stateful", "--ipv6-ra-mode", "dhcpv6-stateful", "acc-v6")
    assert v6["ip_version"] == 6 and v6["cidr"] == "fd20::/64" and v6["gateway_ip"] == "fd20::1"
    endpoint.after("subnet", v6["id"], v6)

    auto = osc.json("port", "create", "--network", "acc-net", "acc-auto")
    assert auto["status"] == "DOWN"
    assert {ip["subnet_id"] for ip in auto["fixed_ips"]} == {v4["id"], v6["id"]}
    endpoint.after("port", auto["id"], auto)
    fixed = osc.json("port", "create", "--network", "acc-net", "--fixed-ip", "subnet=acc-v4,ip-address=10.20.0.50",
                     "acc-fixed")
    assert fixed["fixed_ips"] == [{"subnet_id": v4["id"], "ip_address": "10.20.0.50"}]
    endpoint.after("port", fixed["id"], fixed)

    taken = osc.run("port", "create", "--network", "acc-net", "--fixed-ip", "ip-address=10.20.0.50", "acc-dup",
                    check=False)
    assert taken.returncode != 0 and "already allocated" in taken.stderr

    listed = osc.json("port", "list", "--network", "acc-net")
    assert sorted(p["Name"] for p in listed) == ["acc-auto", "acc-fixed"]
    by_ip = osc.json("port", "list", "--fixed-ip", "ip-address=10.20.0.50")
    assert [p["ID"] for p in by_ip] == [fixed["id"]]
    assert [s["Name"] for s in osc.json("subnet", "list", "--ip-version", "6")] == ["acc-v6"]
    assert [n["Name"] for n in osc.json("network", "list", "--name", "acc-net")] == ["acc-net"]

    osc.run("port", "set", "--name", "acc-fixed2", "--fixed-ip", "ip-address=10.20.0.51", "acc-fixed")
    shown = osc.json("port", "show", "acc-fixed2")
    assert sorted(ip["ip_address"] for ip in shown["fixed_ips"]) == ["10.20.0.50", "10.20.0.51"]
    assert shown["revision_number"] == 2
    endpoint.after("port", shown["id"], shown)
    osc.run("network", "set", "--description", "accepted", "acc-net")
    assert osc.json("network", "show", "acc-net")["description"] == "accepted"

    in_use = osc.run("network", "delete", "acc-net", check=False)
    assert in_use.returncode != 0
    osc.run("port", "delete", "acc-auto", "acc-fixed2")
    endpoint.after("port", auto["id"], None)
    endpoint.after("port", fixed["id"], None)
    osc.run("subnet", "delete", "acc-v4", "acc-v6")
    endpoint.after("subnet", v4["id"], None)
    endpoint.after("subnet", v6["id"], None)
    osc.run("network", "delete", "acc-net")
    endpoint.after("network", net["id"], None)
    assert osc.json("network", "list") == []


def test_openstackclient_binding_is_admin_only_and_unset_host_unbinds(endpoint, tmp_path):
    admin = Osc(endpoint.clouds_yaml)
    made = subprocess.run([str(OPENSTACK.with_name("ovnet")), "project", "create", "osc-member", "--state-dir",
                           str(endpoint.settings.state_dir)], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "OVNET_API_PORT": str(endpoint.settings.api_port)})
    assert made.returncode == 0, made.stderr
    entry = yaml.safe_load(made.stdout.split("clouds.yaml entry:\n", 1)[1])["clouds"]["ovnet-osc-member"]
    (tmp_path / "clouds.yaml").write_text(yaml.safe_dump({"clouds": {"ovnet": entry}}))
    member = Osc(tmp_path / "clouds.yaml")

    too_big = member.run("network", "create", "--mtu", "9000", "osc-jumbo", check=False)
    assert too_big.returncode != 0 and "1442" in too_big.stderr
    member.json("network", "create", "osc-net")
    port = member.json("port", "create", "--network", "osc-net", "osc-p")
    refused = member.run("port", "set", "--host", "evil-host", "osc-p", check=False)
    assert refused.returncode != 0 and "binding:host_id" in refused.stderr
    assert member.json("port", "show", "osc-p").get("binding_host_id") is None  # binding:* is shown to admins only

    admin.run("port", "set", "--host", "host-1", port["id"])
    assert admin.json("port", "show", port["id"])["binding_host_id"] == "host-1"
    admin.run("port", "unset", "--host", port["id"])
    assert admin.json("port", "show", port["id"])["binding_host_id"] == ""


def test_openstackclient_subnet_pool_and_a_subnet_from_it(endpoint):
    osc = Osc(endpoint.clouds_yaml)
    pool = osc.json("subnet", "pool", "create", "--pool-prefix", "10.60.0.0/16", "--default-prefix-length", "24",
                    "acc-pool")
    assert pool["prefixes"] == ["10.60.0.0/16"] and pool["default_prefixlen"] == 24 and pool["ip_version"] == 4
    osc.json("network", "create", "pool-net")
    first = osc.json("subnet", "create", "--network", "pool-net", "--subnet-pool", "acc-pool", "pool-a")
    second = osc.json("subnet", "create", "--network", "pool-net", "--subnet-pool", "acc-pool",
                      "--prefix-length", "26", "pool-b")
    assert (first["cidr"], second["cidr"]) == ("10.60.0.0/24", "10.60.1.0/26")
    assert first["subnetpool_id"] == second["subnetpool_id"] == pool["id"]
    osc.run("subnet", "pool", "set", "--pool-prefix", "10.61.0.0/16", "acc-pool")
    assert osc.json("subnet", "pool", "show", "acc-pool")["prefixes"] == ["10.60.0.0/15"]  # collapsed
    in_use = osc.run("subnet", "pool", "delete", "acc-pool", check=False)
    assert in_use.returncode != 0 and "409" in in_use.stderr, in_use.stderr
    osc.run("subnet", "delete", "pool-a", "pool-b")
    osc.run("subnet", "pool", "delete", "acc-pool")
    assert osc.json("subnet", "pool", "list") == []
def _member(endpoint, tmp_path: Path, name: str) -> tuple[Osc, str]:
    """A new project NAME's member as an Osc, and the project's id."""
    made = subprocess.run([str(OPENSTACK.with_name("ovnet")), "project", "create", name, "--state-dir",
                           str(endpoint.settings.state_dir)], capture_output=True, text=True, timeout=60)
    assert made.returncode == 0, made.stderr
    entry = yaml.safe_load(made.stdout.split("clouds.yaml entry:\n", 1)[1])["clouds"][f"ovnet-{name}"]
    (tmp_path / f"{name}.yaml").write_text(yaml.safe_dump({"clouds": {"ovnet": entry}}))
    project_id = made.stdout.split("(", 1)[1].split(")", 1)[0]
    return Osc(tmp_path / f"{name}.yaml"), project_id


def test_openstackclient_sharing_rbac_and_quotas(endpoint, tmp_path):
    admin = Osc(endpoint.clouds_yaml)
    member, member_project = _member(endpoint, tmp_path, "osc-rbac")

    net = admin.json("network", "create", "acc-shared")
    admin.run("subnet", "create", "--network", "acc-shared", "--subnet-range", "10.21.0.0/24", "acc-shared-v4")
    assert member.json("network", "list") == []
    admin.run("network", "set", "--share", "acc-shared")
    assert admin.json("network", "show", "acc-shared")["shared"] is True
    endpoint.after("network", net["id"], admin.json("network", "show", net["id"]))
    wildcard = [admin.json("network", "rbac", "show", p["ID"]) for p in admin.json("network", "rbac", "list")]
    assert [(p["object_id"], p["target_project_id"], p["action"]) for p in wildcard] == [
        (net["id"], "*", "access_as_shared")]
    assert [n["ID"] for n in member.json("network", "list")] == [net["id"]]
    admin.run("network", "set", "--no-share", "acc-shared")
    assert member.json("network", "list") == [] and admin.json("network", "rbac", "list") == []

    policy = admin.json("network", "rbac", "create", "--type", "network", "--action", "access_as_shared",
                        "--target-project", member_project, "acc-shared")
    assert policy["target_project_id"] == member_project and policy["object_id"] == net["id"]
    assert [p["ID"] for p in admin.json("network", "rbac", "list")] == [policy["id"]]
    assert [n["ID"] for n in member.json("network", "list")] == [net["id"]]
    port = member.json("port", "create", "--network", net["id"], "acc-member-port")
    endpoint.after("port", port["id"], port)
    in_use = admin.run("network", "rbac", "delete", policy["id"], check=False)
    assert in_use.returncode != 0 and "cannot be removed" in in_use.stderr
    member.run("port", "delete", "acc-member-port")
    endpoint.after("port", port["id"], None)
    admin.run("network", "rbac", "delete", policy["id"])
    assert member.json("network", "list") == []

    admin.run("quota", "set", "--networks", "1", "--ports", "7", member_project)
    shown = {row["Resource"]: row["Limit"] for row in admin.json("quota", "show", "--network", member_project)}
    assert shown["networks"] == 1 and shown["ports"] == 7 and shown["subnets"] == -1, shown
    mine = {row["Resource"]: row["Limit"] for row in member.json("quota", "show", "--network", member_project)}
    assert mine["ports"] == 7, mine
    member.run("network", "create", "acc-quota-1")
    over = member.run("network", "create", "acc-quota-2", check=False)
    assert over.returncode != 0 and "Quota exceeded" in over.stderr
