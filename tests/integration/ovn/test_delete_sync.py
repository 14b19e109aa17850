"""Every delete takes its NB rows with it in its own sync, not at the next full reconcile: after
each delete and ``flush`` (what the API waits for before answering), ``drift()`` (``ovnet sync
--check``) finds nothing. Real NB and SB; the periodic reconcile is 60 s away and never runs."""

from __future__ import annotations

import subprocess

import pytest

from ovnet.model import floatingips, networks, ports, routers, secgroups, sgrules, subnets
from ovnet.model.common import Defaults
from ovnet.model.tenancy import Context
from tests.helpers.outbox import public_network

pytestmark = pytest.mark.ovn
CTX = Context("p1")
ADMIN = Context("admin", is_admin=True)
DEFAULTS = Defaults(network_mtu=1442, physical_mtu=1500)


@pytest.fixture
def syncer(sb_settings, request):
    # The chassis goes in before the syncer starts: one joining later asks for a full reconcile.
    subprocess.run(["ovn-sbctl", f"--db={sb_settings.sb_connection}", "chassis-add", "hv1", "geneve", "127.0.0.1"],
                   check=True, capture_output=True)
    return request.getfixturevalue("sb_syncer")


def _arrange(session) -> dict[str, str]:
    # One of every kind with NB rows: a provider (localnet) network, a network with a drop
    # Port_Group and DHCP options, a security group with a rule, a port in it, a router with a
    # gateway and an interface, a floating IP on the port.
    public = public_network(session, DEFAULTS)
    net = networks.create_network(session, CTX, {"name": "blue"}, DEFAULTS)
    web = secgroups.create_security_group(session, CTX, {"name": "web"}, DEFAULTS)
    session.flush()
    sub = subnets.create_subnet(session, CTX, {"network_id": net.id, "cidr": "10.0.0.0/24", "ip_version": 4})
    rule = sgrules.create_rule(session, CTX, {"security_group_id": web.id, "direction": "ingress",
                                              "protocol": "tcp", "port_range_min": 80, "port_range_max": 80},
                               DEFAULTS)
    session.flush()
    port = ports.create_port(session, CTX, {"network_id": net.id, "security_groups": [web.id]}, DEFAULTS)
    router = routers.create_router(session, CTX, {"name": "r", "external_gateway_info": {
        "network_id": public.id}}, DEFAULTS)
    session.flush()
    routers.add_router_interface(session, CTX, router.id, {"subnet_id": sub.id}, DEFAULTS)
    session.flush()
    fip = floatingips.create_floatingip(session, CTX, {"floating_network_id": public.id, "port_id": port.id},
                                        DEFAULTS)
    return {"public": public.id, "net": net.id, "sub": sub.id, "web": web.id, "rule": rule.id, "port": port.id,
            "router": router.id, "fip": fip.id}


def test_each_delete_leaves_nb_with_its_own_sync(store, nb_server, syncer):
    ids = store.run(_arrange)
    assert syncer.flush(20)
    assert syncer.drift() == []
    steps = [
        ("floating IP", lambda s: floatingips.delete_floatingip(s, CTX, ids["fip"])),
        ("security group rule", lambda s: sgrules.delete_rule(s, CTX, ids["rule"])),
        ("router interface", lambda s: routers.remove_router_interface(s, CTX, ids["router"],
                                                                        {"subnet_id": ids["sub"]})),
        ("router", lambda s: routers.delete_router(s, CTX, ids["router"])),
        ("port", lambda s: ports.delete_port(s, CTX, ids["port"])),
        ("security group", lambda s: secgroups.delete_security_group(s, CTX, ids["web"])),
        ("subnet", lambda s: subnets.delete_subnet(s, CTX, ids["sub"])),
        ("network", lambda s: networks.delete_network(s, CTX, ids["net"])),
        ("provider network", lambda s: networks.delete_network(s, ADMIN, ids["public"])),
    ]
    for what, delete in steps:
        store.run(delete)
        assert syncer.flush(20), what
        assert syncer.drift() == [], what

