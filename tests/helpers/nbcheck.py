"""NB checks for the openstackclient acceptance test: after each step, look the rows up in the
all-in-one's real NB with ovn-nbctl and compare them with what the API showed.

The expectations are written out from the API's view (Neutron fields), not computed with
ovnet.ovn.translate, so a translation bug cannot hide behind itself.
"""

from __future__ import annotations

import json
import subprocess

TABLES = {"network": "Logical_Switch", "subnet": "DHCP_Options", "port": "Logical_Switch_Port"}


def _python(cell):
    """ovn-nbctl --data=json cell -> Python: ["map", [[k, v]...]] -> dict, ["set", [...]] -> list."""
    if isinstance(cell, list) and cell and cell[0] == "map":
        return {k: _python(v) for k, v in cell[1]}
    if isinstance(cell, list) and cell and cell[0] == "set":
        return [_python(v) for v in cell[1]]
    if isinstance(cell, list) and cell and cell[0] == "uuid":
        return cell[1]
    return cell


class NbRows:
    """Reads NB rows of the all-in-one at ``nb_url`` by their ``external_ids:ovnet:id``."""

    def __init__(self, nb_url: str):
        self.nb_url = nb_url

    def find(self, table: str, ovnet_id: str) -> list[dict]:
        return self._rows("find", table, f"external_ids:ovnet\\:id={ovnet_id}")

    def rows(self, table: str) -> list[dict]:
        """Every row of ``table``."""
        return self._rows("list", table)

    def _rows(self, *command: str) -> list[dict]:
        out = subprocess.run(["ovn-nbctl", f"--db={self.nb_url}", "--timeout=10", "--format=json", "--data=json",
                              *command], capture_output=True, text=True, check=True).stdout
        doc = json.loads(out)
        return [{h: _python(c) for h, c in zip(doc["headings"], row)} for row in doc["data"]]

    def check(self, kind: str, resource_id: str, shown: dict | None) -> None:
        rows = self.find(TABLES[kind], resource_id)
        if shown is None or (kind == "subnet" and not _serves_dhcp(shown)):
            assert rows == [], f"{kind} {resource_id}: NB still has {rows}"
            return
        assert len(rows) == 1, f"{kind} {resource_id}: expected one NB row, found {rows}"
        row = rows[0]
        ids = row["external_ids"]
        assert ids["ovnet:project"] == shown["project_id"]
        assert ids["ovnet:revision"] == str(shown["revision_number"])
        getattr(self, f"_{kind}")(row, shown)

    def _network(self, row: dict, net: dict) -> None:
        assert row["name"] == f"ovnet-{net['id']}"
        assert row["other_config"]["mtu"] == str(net["mtu"])
        assert row["external_ids"]["ovnet:name"] == net["name"]

    def _subnet(self, row: dict, sub: dict) -> None:
        assert row["cidr"] == sub["cidr"]
        if sub["ip_version"] == 4:
            assert row["options"]["router"] == sub["gateway_ip"]
            assert row["options"]["server_id"] == sub["gateway_ip"]
        else:
            assert ":" in row["options"]["server_id"]  # DHCPv6 server id is the server MAC

    def _port(self, row: dict, port: dict) -> None:
        ips = [ip["ip_address"] for ip in port["fixed_ips"]]
        assert len(_as_list(row["addresses"])) == 1
        mac, *addresses = _as_list(row["addresses"])[0].split()
        assert mac == port["mac_address"] and sorted(addresses) == sorted(ips)
        assert _as_list(row["port_security"]) == _as_list(row["addresses"])
        assert row["enabled"] is True
        if any("." in ip for ip in ips):
            dhcp = self.find("DHCP_Options", next(ip["subnet_id"] for ip in port["fixed_ips"] if "." in ip["ip_address"]))
            assert row["dhcpv4_options"] == dhcp[0]["_uuid"]


def _as_list(cell) -> list:
    # OVSDB JSON writes a one-element set as the bare element.
    return cell if isinstance(cell, list) else [cell]


def _serves_dhcp(subnet: dict) -> bool:
    return subnet["enable_dhcp"] and subnet.get("ipv6_address_mode") != "slaac"
