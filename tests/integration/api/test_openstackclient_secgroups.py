"""Acceptance: the real python-openstackclient drives security groups, rules, ports' groups, port
security and allowed address pairs (issue 11 "Done when"), each step checked in OVN NB."""

from __future__ import annotations

import json
import subprocess

import pytest

from ovnet.config import CLOUDS_FILE
from ovnet.ovn.acls import port_group_name
from tests.helpers.allinone import running_allinone
from tests.helpers.osc import OPENSTACK, Osc
from tests.helpers.secgroups import settle

pytestmark = [pytest.mark.root, pytest.mark.ovn,
              pytest.mark.skipif(not OPENSTACK.exists(), reason=f"python-openstackclient not at {OPENSTACK}")]


class Nb:
    def __init__(self, url: str):
        self.url = url

    def ctl(self, *args: str) -> str:
        return subprocess.run(["ovn-nbctl", f"--db={self.url}", *args], capture_output=True, text=True,
                              check=True).stdout.strip()

    def acl_matches(self, group_id: str) -> list[str]:
        uuids = self.ctl("get", "Port_Group", port_group_name(group_id), "acls").strip("[]")
        return sorted(self.ctl("get", "ACL", u.strip(), "match").strip('"') for u in uuids.split(",") if u.strip())

    def members(self, group_id: str) -> list[str]:
        uuids = self.ctl("get", "Port_Group", port_group_name(group_id), "ports").strip("[]")
        return sorted(self.ctl("get", "Logical_Switch_Port", u.strip(), "name").strip('"')
                      for u in uuids.split(",") if u.strip())

    def groups(self) -> list[str]:
        return self.ctl("--bare", "--columns=name", "list", "Port_Group").split()

    def port_security(self, port_id: str) -> str:
        return self.ctl("get", "Logical_Switch_Port", port_id, "port_security")


def test_openstackclient_security_groups(tmp_path):
    with running_allinone(tmp_path) as settings:
        osc, nb = Osc(settings.state_dir / CLOUDS_FILE), Nb(settings.nb_connection)
        web = osc.json("security", "group", "create", "web")
        default = osc.json("security", "group", "show", "default")
        pg = port_group_name(web["id"])
        assert pg in nb.groups() and len(nb.acl_matches(web["id"])) == 2  # the egress rules

        rules = [
            osc.json("security", "group", "rule", "create", "--protocol", "tcp", "--dst-port", "8000:8080", "web"),
            osc.json("security", "group", "rule", "create", "--protocol", "icmp", "web"),
            osc.json("security", "group", "rule", "create", "--remote-group", "default", "web"),
            osc.json("security", "group", "rule", "create", "--remote-ip", "10.0.0.0/8", "--protocol", "udp",
                     "--dst-port", "53", "web"),
            osc.json("security", "group", "rule", "create", "--egress", "--protocol", "tcp", "--dst-port", "443",
                     "--remote-ip", "192.0.2.0/24", "web"),
        ]
        matches = nb.acl_matches(web["id"])
        for expected in (f"outport == @{pg} && ip4 && ip4.src == 0.0.0.0/0 && tcp && tcp.dst >= 8000 && tcp.dst <= 8080",
                         f"outport == @{pg} && ip4 && icmp4",
                         f"outport == @{pg} && ip4 && ip4.src == ${port_group_name(default['id'])}_ip4",
                         f"outport == @{pg} && ip4 && ip4.src == 10.0.0.0/8 && udp && udp.dst == 53",
                         f"inport == @{pg} && ip4 && ip4.dst == 192.0.2.0/24 && tcp && tcp.dst == 443"):
            assert expected.replace(" && ip4.src == 0.0.0.0/0", "") in matches, matches
        assert len(matches) == 7
        dup = osc.run("security", "group", "rule", "create", "--protocol", "icmp", "web", check=False)
        assert dup.returncode != 0 and "already exists" in dup.stderr

        osc.json("network", "create", "sg-net")
        osc.json("subnet", "create", "--network", "sg-net", "--subnet-range", "10.20.0.0/24", "sg-sub")
        port = osc.json("port", "create", "--network", "sg-net", "--security-group", "web", "p1")
        plain = osc.json("port", "create", "--network", "sg-net", "p2")
        assert nb.members(web["id"]) == [port["id"]] and nb.members(default["id"]) == [plain["id"]]

        osc.run("port", "set", "--no-security-group", "--disable-port-security", port["id"])
        shown = osc.json("port", "show", port["id"])
        assert shown["security_group_ids"] == [] and shown["port_security_enabled"] is False
        assert nb.members(web["id"]) == [] and nb.port_security(port["id"]) == "[]"

        osc.run("port", "set", "--enable-port-security", "--security-group", "web", "--allowed-address",
                "ip-address=10.20.0.100", port["id"])
        assert nb.members(web["id"]) == [port["id"]] and "10.20.0.100" in nb.port_security(port["id"])

        in_use = osc.run("security", "group", "delete", "web", check=False)
        assert in_use.returncode != 0 and "in use" in in_use.stderr
        osc.run("port", "delete", port["id"])
        osc.run("security", "group", "rule", "delete", rules[0]["id"])
        assert len(nb.acl_matches(web["id"])) == 6
        osc.run("security", "group", "delete", "web")
        settle(settings.nb_connection)
        assert pg not in nb.groups()
        listed = json.loads(osc.run("security", "group", "list", "-f", "json").stdout)
        assert [g["Name"] for g in listed] == ["default"]
