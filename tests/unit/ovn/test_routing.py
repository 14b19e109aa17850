"""The pure translation of routers, external networks and floating IPs into NB rows."""

from __future__ import annotations

from ovnet.ovn.registry import TABLE, desired_rows
from ovnet.ovn.routing import GATEWAY_CHASSIS, LR, LRP, NAT, STATIC_ROUTE, gateway_chassis
from ovnet.ovn.translate import LSP

PUB, PUBSUB, NET, SUB, R = "pub-net", "pub-sub", "net1", "sub1", "r1"
GW, IF, FIP = "port-gw", "port-if", "fip1"


def _net(nid: str, **extra) -> dict:
    return {"id": nid, "project_id": "p", "name": nid, "revision_number": 1, "mtu": 1442,
            "provider:network_type": "geneve", "provider:physical_network": None, "provider:segmentation_id": None,
            **extra}


def _port(pid: str, net: str, subnet: str, ip: str, owner: str, device: str) -> dict:
    return {"id": pid, "project_id": "p", "name": "", "revision_number": 1, "network_id": net,
            "mac_address": "fa:16:3e:00:00:01", "admin_state_up": True, "device_owner": owner, "device_id": device,
            "fixed_ips": [{"subnet_id": subnet, "ip_address": ip}], "port_security_enabled": True,
            "allowed_address_pairs": [], "binding:host_id": ""}


def snapshot(enable_snat: bool = True, fip_port: str | None = "vm") -> dict:
    return {
        "networks": [_net(PUB, mtu=1500, **{"provider:network_type": "flat", "provider:physical_network": "public",
                                            "router:external": True}), _net(NET)],
        "subnets": [
            {"id": PUBSUB, "network_id": PUB, "cidr": "10.50.50.0/24", "ip_version": 4, "gateway_ip": "10.50.50.1",
             "enable_dhcp": False},
            {"id": SUB, "network_id": NET, "cidr": "192.168.1.0/24", "ip_version": 4, "gateway_ip": "192.168.1.1",
             "enable_dhcp": True},
        ],
        "ports": [_port(GW, PUB, PUBSUB, "10.50.50.10", "network:router_gateway", R),
                  _port(IF, NET, SUB, "192.168.1.1", "network:router_interface", R),
                  _port("vm", NET, SUB, "192.168.1.3", "compute:nova", "vm1")],
        "routers": [{"id": R, "project_id": "p", "name": "r", "revision_number": 3, "admin_state_up": True,
                     "external_gateway_info": {"network_id": PUB, "enable_snat": enable_snat,
                                               "external_fixed_ips": [{"subnet_id": PUBSUB,
                                                                       "ip_address": "10.50.50.10"}]},
                     "routes": [{"destination": "10.9.0.0/16", "nexthop": "192.168.1.50"}]}],
        "floatingips": [{"id": FIP, "project_id": "p", "name": "", "revision_number": 1,
                         "floating_ip_address": "10.50.50.11", "port_id": fip_port,
                         "fixed_ip_address": "192.168.1.3" if fip_port else None,
                         "router_id": R if fip_port else None}],
    }


CHASSIS = {"chassis": [{"id": "hv1", "physical_networks": ["public"]}, {"id": "hv2", "physical_networks": ["public"]},
                       {"id": "hv3", "physical_networks": []}]}


def test_router_rows():
    rows = desired_rows(snapshot(), facts=CHASSIS)
    assert rows[LR][R]["name"] == "ovnet-r1" and rows[LR][R]["enabled"] == [True]
    assert rows[LRP][f"{R}/{IF}"]["networks"] == ["192.168.1.1/24"]
    assert rows[LRP][f"{R}/{IF}"]["external_ids"]["ovnet:router"] == R
    gw = rows[LRP][f"{R}/{GW}"]
    assert gw["name"] == f"lrp-{GW}" and gw["networks"] == ["10.50.50.10/24"]
    assert gw["options"] == {"gateway_mtu": "1442"}
    chassis = {r["chassis_name"]: r["priority"] for r in rows[GATEWAY_CHASSIS].values()}
    assert sorted(chassis) == ["hv1", "hv2"] and sorted(chassis.values()) == [1, 2]
    assert all(r["external_ids"]["ovnet:lrp"] == f"{R}/{GW}" for r in rows[GATEWAY_CHASSIS].values())
    nats = {(n["type"], n["external_ip"], n["logical_ip"]) for n in rows[NAT].values()}
    assert nats == {("snat", "10.50.50.10", "192.168.1.0/24"), ("dnat_and_snat", "10.50.50.11", "192.168.1.3")}
    routes = {(s["ip_prefix"], s["nexthop"]) for s in rows[STATIC_ROUTE].values()}
    assert routes == {("10.9.0.0/16", "192.168.1.50"), ("0.0.0.0/0", "10.50.50.1")}


def test_switch_ports_of_router_ports_and_the_localnet_port():
    lsps = desired_rows(snapshot(), facts=CHASSIS)[LSP]
    assert lsps[GW]["type"] == "router"
    assert lsps[GW]["options"] == {"router-port": f"lrp-{GW}", "nat-addresses": "router"}
    assert lsps[IF]["options"] == {"router-port": f"lrp-{IF}"}
    local = lsps[f"{PUB}/provnet"]
    assert (local["type"], local["name"], local["options"], local["addresses"]) == \
        ("localnet", PUB, {"network_name": "public"}, ["unknown"])
    assert f"{NET}/provnet" not in lsps


def test_without_snat_chassis_or_association():
    rows = desired_rows(snapshot(enable_snat=False, fip_port=None), facts={"chassis": []})
    assert rows[NAT] == {} and rows[GATEWAY_CHASSIS] == {}


def test_every_row_carries_exactly_its_tables_columns_and_a_key_of_its_object():
    snap = snapshot()
    rows = desired_rows(snap, facts=CHASSIS)
    for table, by_key in rows.items():
        for key, row in by_key.items():
            assert tuple(sorted(row)) == tuple(sorted(TABLE[table].columns)), table
            assert row["external_ids"]["ovnet:id"] == key
    scoped = desired_rows(snap, scope={R}, facts=CHASSIS)
    assert set(scoped[LRP]) == set(rows[LRP]) and scoped[LSP] == {}


def test_gateway_chassis_order_is_stable_per_router_and_spreads_routers():
    chassis = [{"id": f"hv{i}", "physical_networks": ["public"]} for i in range(4)]
    first = gateway_chassis("r1", "public", chassis)
    assert first == gateway_chassis("r1", "public", list(reversed(chassis)))
    assert [p for _, p in first] == [4, 3, 2, 1]
    actives = {gateway_chassis(f"r{i}", "public", chassis)[0][0] for i in range(20)}
    assert len(actives) > 1
    assert gateway_chassis("r1", None, chassis) == []


def _distributed(enabled: bool, host: str) -> dict:
    snap = snapshot()
    snap["floatingips"][0]["floating_network_id"] = PUB
    snap["ports"][2]["binding:host_id"] = host
    fip_port = _port("fip-port", PUB, PUBSUB, "10.50.50.11", "network:floatingip", FIP)
    snap["ports"].append({**fip_port, "mac_address": "fa:16:3e:00:00:99"})
    rows = desired_rows(snap, facts={**CHASSIS, "settings": [{"id": "enable_distributed_floating_ip",
                                                              "enabled": enabled}]})
    return rows[NAT][f"{FIP}/{R}"]


def test_a_floating_ip_is_distributed_only_when_enabled_and_its_chassis_has_the_physical_network():
    """Neutron's enable_distributed_floating_ip: external_mac (the floating IP port's MAC) and
    logical_port (the associated port) make the port's chassis do the NAT; off by default."""
    nat = _distributed(True, "hv2")
    assert nat["external_mac"] == ["fa:16:3e:00:00:99"] and nat["logical_port"] == ["vm"]
    for enabled, host in ((False, "hv2"), (True, "hv3"), (True, ""), (True, "unknown")):
        nat = _distributed(enabled, host)
        assert nat["external_mac"] == [] and nat["logical_port"] == [], (enabled, host)
    assert desired_rows(snapshot(), facts=CHASSIS)[NAT][f"{FIP}/{R}"]["external_mac"] == []  # no settings fact
