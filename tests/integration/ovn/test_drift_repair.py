"""Drift that the per-change path never sees, against a real NB (and SB for a router's chassis):
Port_Group memberships and ACLs changed behind ovnet's back are repaired by the reconcile, rows
ovnet does not own are left alone; a router's gateway_mtu follows an interface network's MTU at
once, without waiting for a reconcile."""

from __future__ import annotations

import subprocess

import pytest

from ovnet.model import networks, ports, routers, secgroups, sgrules, subnets
from ovnet.model.common import Defaults
from ovnet.model.tenancy import Context
from ovnet.ovn.acls import port_group_name
from tests.helpers.outbox import public_network
from tests.helpers.wait import wait_for

pytestmark = pytest.mark.ovn
CTX = Context("p1")
DEFAULTS = Defaults(network_mtu=1442, physical_mtu=1500)


def _uuid(nb_server, table: str, *where: str) -> list[str]:
    return nb_server.nbctl("--bare", "--columns=_uuid", "find", table, *where).split()


def _pg_ports(nb_server, group_id: str) -> set[str]:
    return set(nb_server.nbctl("--bare", "--columns=ports", "list", "Port_Group", port_group_name(group_id)).split())


def _lsp(nb_server, port_id: str) -> str:
    return nb_server.nbctl("--bare", "--columns=_uuid", "list", "Logical_Switch_Port", port_id).strip()


def test_port_group_membership_and_acl_drift_is_repaired(store, nb_server, sb_syncer):
    def arrange(session):
        web = secgroups.create_security_group(session, CTX, {"name": "web"}, Defaults())
        sgrules.create_rule(session, CTX, {"security_group_id": web.id, "direction": "ingress", "protocol": "tcp",
                                           "port_range_min": 80, "port_range_max": 80}, Defaults())
        net = networks.create_network(session, CTX, {"name": "blue"}, Defaults())
        session.flush()
        subnets.create_subnet(session, CTX, {"network_id": net.id, "cidr": "10.0.0.0/24", "ip_version": 4})
        session.flush()
        a = ports.create_port(session, CTX, {"network_id": net.id, "security_groups": [web.id]}, Defaults())
        b = ports.create_port(session, CTX, {"network_id": net.id}, Defaults())  # in "default" only
        return web.id, secgroups.ensure_default(session, "p1").id, a.id, b.id
    web, default, a, b = store.run(arrange)
    assert sb_syncer.flush(20)
    assert sb_syncer.drift() == []
    lsp_a, lsp_b = _lsp(nb_server, a), _lsp(nb_server, b)
    assert lsp_a in _pg_ports(nb_server, web) and lsp_b not in _pg_ports(nb_server, web)

    # Behind ovnet's back: a leaves its group, b joins a group the model never gave it.
    nb_server.nbctl("remove", "Port_Group", port_group_name(web), "ports", lsp_a)
    nb_server.nbctl("add", "Port_Group", port_group_name(web), "ports", lsp_b)
    # ... and the group's ACLs: one rewritten, one deleted, one foreign added.
    acls = nb_server.nbctl("--bare", "--columns=acls", "list", "Port_Group", port_group_name(web)).split()
    port80 = [u for u in acls if "tcp.dst == 80" in nb_server.nbctl("get", "ACL", u, "match")]
    assert len(port80) == 1
    nb_server.nbctl("set", "ACL", port80[0], 'match="ip4"')
    egress = [u for u in acls if u != port80[0]][0]
    nb_server.nbctl("remove", "Port_Group", port_group_name(web), "acls", egress)  # non-root: the ACL goes
    nb_server.nbctl("--type=port-group", "acl-add", port_group_name(web), "to-lport", "900", "udp", "drop")

    drift = sb_syncer.drift()
    assert len(drift) == 4, drift  # two memberships, the rewritten ACL, the missing ACL
    assert any("ovnet:port_groups" in line for line in drift)
    sb_syncer.repair()
    assert sb_syncer.drift() == []
    assert lsp_a in _pg_ports(nb_server, web) and lsp_b not in _pg_ports(nb_server, web)
    assert lsp_b in _pg_ports(nb_server, default)
    matches = [nb_server.nbctl("get", "ACL", u, "match")
               for u in nb_server.nbctl("--bare", "--columns=acls", "list", "Port_Group", port_group_name(web)).split()]
    assert sum("tcp.dst == 80" in m for m in matches) == 1 and len(matches) == 4  # 3 of ovnet's + the foreign
    assert "udp" in matches  # rows ovnet does not own are never touched


def _gateway_mtu(nb_server, router_id: str) -> str | None:
    for lrp in _uuid(nb_server, "Logical_Router_Port", f"external_ids:\"ovnet:router\"={router_id}"):
        value = nb_server.nbctl("--if-exists", "get", "Logical_Router_Port", lrp, "options:gateway_mtu")
        if value.strip():
            return value.strip().strip('"')
    return None


def test_gateway_mtu_follows_a_network_mtu_change_at_once(store, nb_server, sb_settings, sb_syncer):
    sb = ["ovn-sbctl", f"--db={sb_settings.sb_connection}"]
    subprocess.run([*sb, "chassis-add", "hv1", "geneve", "127.0.0.1"], check=True, capture_output=True)
    subprocess.run([*sb, "set", "Chassis", "hv1", "other_config:ovn-bridge-mappings=public:br-ex"], check=True,
                   capture_output=True)

    def arrange(session):
        public = public_network(session, DEFAULTS)
        net = networks.create_network(session, CTX, {"name": "blue"}, DEFAULTS)
        session.flush()
        sub = subnets.create_subnet(session, CTX, {"network_id": net.id, "cidr": "10.0.0.0/24", "ip_version": 4})
        session.flush()
        router = routers.create_router(session, CTX, {"name": "r", "external_gateway_info": {
            "network_id": public.id}}, DEFAULTS)
        session.flush()
        routers.add_router_interface(session, CTX, router.id, {"subnet_id": sub.id}, DEFAULTS)
        return net.id, router.id
    net_id, router_id = store.run(arrange)
    assert sb_syncer.flush(20)
    assert wait_for(lambda: _gateway_mtu(nb_server, router_id) == "1442", timeout=60), _gateway_mtu(nb_server,
                                                                                                   router_id)
    store.run(lambda s: networks.update_network(s, CTX, net_id, {"mtu": 1400}, DEFAULTS))
    assert sb_syncer.flush(20)  # the change's own outbox rows, no reconcile
    assert _gateway_mtu(nb_server, router_id) == "1400"
