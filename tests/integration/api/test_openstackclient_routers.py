"""Acceptance: the real openstack CLI drives routers, the external network and floating IPs
(issue 10 "Done when"); after every step the all-in-one's NB holds exactly the rows it implies."""

from __future__ import annotations

import pytest

from tests.helpers.osc import OPENSTACK, Osc
from tests.helpers.nbcheck import NbRows

pytestmark = [pytest.mark.ovn, pytest.mark.root,
              pytest.mark.skipif(not OPENSTACK.exists(), reason=f"python-openstackclient not installed at {OPENSTACK}")]


def _router_rows(nb: NbRows, table: str, router_id: str) -> list[dict]:
    return [r for r in nb.rows(table) if r["external_ids"].get("ovnet:router") == router_id]


def test_openstackclient_routers_and_floating_ips(nb_endpoint):  # noqa: F811 - the fixture
    osc, nb = Osc(nb_endpoint.clouds_yaml), NbRows(nb_endpoint.settings.nb_connection)
    chassis = nb_endpoint.settings.chassis_name

    public = osc.json("network", "create", "--external", "--provider-network-type", "flat",
                      "--provider-physical-network", "public", "public")
    assert public["router:external"] is True and public["provider:network_type"] == "flat"
    localnet = nb.find("Logical_Switch_Port", f"{public['id']}/provnet")
    assert localnet[0]["type"] == "localnet" and localnet[0]["options"] == {"network_name": "public"}
    pubsub = osc.json("subnet", "create", "--network", "public", "--subnet-range", "10.50.50.0/24", "--no-dhcp",
                      "--allocation-pool", "start=10.50.50.10,end=10.50.50.50", "public-sub")
    osc.json("network", "create", "n1")
    sub = osc.json("subnet", "create", "--network", "n1", "--subnet-range", "192.168.5.0/24", "s1")

    router = osc.json("router", "create", "r1")
    rid = router["id"]
    assert nb.find("Logical_Router", rid)[0]["name"] == f"ovnet-{rid}"

    osc.run("router", "set", "--external-gateway", "public", "r1")
    gw = osc.json("router", "show", "r1")["external_gateway_info"]
    assert gw["network_id"] == public["id"] and gw["enable_snat"] is True
    gw_ip = gw["external_fixed_ips"][0]["ip_address"]
    assert gw["external_fixed_ips"][0]["subnet_id"] == pubsub["id"] and gw_ip == "10.50.50.10"
    lrps = _router_rows(nb, "Logical_Router_Port", rid)
    assert [r["networks"] for r in lrps] == [f"{gw_ip}/24"]
    assert [r["chassis_name"] for r in _router_rows(nb, "Gateway_Chassis", rid)] == [chassis]
    assert [(r["ip_prefix"], r["nexthop"]) for r in _router_rows(nb, "Logical_Router_Static_Route", rid)] == \
        [("0.0.0.0/0", "10.50.50.1")]

    osc.run("router", "add", "subnet", "r1", "s1")
    assert sorted(str(r["networks"]) for r in _router_rows(nb, "Logical_Router_Port", rid)) == \
        sorted([f"{gw_ip}/24", "192.168.5.1/24"])
    snat = _router_rows(nb, "NAT", rid)
    assert [(r["type"], r["external_ip"], r["logical_ip"]) for r in snat] == [("snat", gw_ip, "192.168.5.0/24")]
    iface = osc.json("port", "list", "--device-owner", "network:router_interface")
    assert [p["Fixed IP Addresses"][0]["ip_address"] for p in iface] == ["192.168.5.1"]
    assert nb.find("Logical_Switch_Port", iface[0]["ID"])[0]["type"] == "router"

    osc.run("router", "add", "route", "--route", "destination=10.99.0.0/24,gateway=192.168.5.50", "r1")
    routes = {(r["ip_prefix"], r["nexthop"]) for r in _router_rows(nb, "Logical_Router_Static_Route", rid)}
    assert routes == {("0.0.0.0/0", "10.50.50.1"), ("10.99.0.0/24", "192.168.5.50")}

    port = osc.json("port", "create", "--network", "n1", "--fixed-ip", "ip-address=192.168.5.3", "p1")
    fip = osc.json("floating", "ip", "create", "public")
    assert fip["floating_ip_address"] == "10.50.50.11" and fip["status"] == "DOWN"
    assert nb.find("NAT", f"{fip['id']}/{rid}") == []
    osc.run("floating", "ip", "set", "--port", port["id"], fip["id"])
    shown = osc.json("floating", "ip", "show", fip["id"])
    assert (shown["fixed_ip_address"], shown["router_id"], shown["status"]) == ("192.168.5.3", rid, "ACTIVE")
    nat = nb.find("NAT", f"{fip['id']}/{rid}")
    assert [(r["type"], r["external_ip"], r["logical_ip"]) for r in nat] == \
        [("dnat_and_snat", "10.50.50.11", "192.168.5.3")]

    # Neutron's errors, through the CLI.
    assert "cannot be deleted directly" in osc.run("port", "delete", iface[0]["ID"], check=False).stderr
    assert "cannot have its device_owner changed" in osc.run(
        "port", "set", "--device-owner", "compute:foo", iface[0]["ID"], check=False).stderr
    assert "still has ports" in osc.run("router", "delete", "r1", check=False).stderr
    assert "already has a port on subnet" in osc.run("router", "add", "subnet", "r1", "s1", check=False).stderr
    assert "required by one or more floating IPs" in osc.run("router", "remove", "subnet", "r1", "s1",
                                                             check=False).stderr
    assert "not a valid external network" in osc.run("floating", "ip", "create", "n1", check=False).stderr
    assert "is required by one or more floating IPs" in osc.run("router", "unset", "--external-gateway", "r1",
                                                                check=False).stderr

    osc.run("floating", "ip", "unset", "--port", fip["id"])
    assert osc.json("floating", "ip", "show", fip["id"])["port_id"] is None
    assert nb.find("NAT", f"{fip['id']}/{rid}") == []
    osc.run("router", "remove", "route", "--route", "destination=10.99.0.0/24,gateway=192.168.5.50", "r1")
    assert len(_router_rows(nb, "Logical_Router_Static_Route", rid)) == 1
    osc.run("router", "remove", "subnet", "r1", "s1")
    assert _router_rows(nb, "NAT", rid) == [] and len(_router_rows(nb, "Logical_Router_Port", rid)) == 1
    assert nb.find("Logical_Switch_Port", iface[0]["ID"]) == []
    osc.run("router", "unset", "--external-gateway", "r1")
    for table in ("Logical_Router_Port", "Gateway_Chassis", "Logical_Router_Static_Route"):
        assert _router_rows(nb, table, rid) == [], table
    osc.run("floating", "ip", "delete", fip["id"])
    osc.run("router", "delete", "r1")
    assert nb.find("Logical_Router", rid) == []
    osc.run("port", "delete", "p1")
    osc.run("network", "delete", "public")
    assert nb.find("Logical_Switch_Port", f"{public['id']}/provnet") == []
    assert osc.json("port", "list", "--network", "n1") == []
