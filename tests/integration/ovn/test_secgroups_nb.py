"""Security groups through the model and the syncer into a real NB: Port_Groups, ACLs, memberships."""

from __future__ import annotations

import json

import pytest

from ovnet.config import Settings
from ovnet.model import networks, ports, secgroups, sgrules, subnets
from ovnet.model.common import Defaults
from ovnet.model.tenancy import Context
from ovnet.ovn.acls import port_group_name
from ovnet.ovn.syncer import Syncer

pytestmark = pytest.mark.ovn
CTX = Context("p1")


@pytest.fixture
def syncer(store, nb_server, tmp_path):
    running = Syncer(store, Settings(state_dir=tmp_path / "state", nb_port=nb_server.port))
    running.start()
    yield running
    running.stop()


def _run(store, fn):
    return store.run(fn)


def _rows(nb_server, table: str) -> list[dict]:
    out = json.loads(nb_server.nbctl("--format=json", "list", table))
    return [dict(zip(out["headings"], values)) for values in out["data"]]


def _members(nb_server, group_key: str) -> int:
    ports_col = nb_server.nbctl("get", "Port_Group", port_group_name(group_key), "ports")
    return 0 if ports_col == "[]" else len(ports_col.strip("[]").split(","))


def _acls_of(nb_server, group_key: str) -> list[str]:
    acls = nb_server.nbctl("get", "Port_Group", port_group_name(group_key), "acls").strip("[]")
    return [nb_server.nbctl("get", "ACL", u.strip(), "match").strip('"') for u in acls.split(",") if u.strip()]


def _network(store, n_ports: int = 0, **port_attrs):
    def work(session):
        net = networks.create_network(session, CTX, {"name": "blue"}, Defaults())
        session.flush()
        subnets.create_subnet(session, CTX, {"network_id": net.id, "cidr": "10.0.0.0/22", "ip_version": 4})
        session.flush()
        made = [ports.create_port(session, CTX, {"network_id": net.id, **port_attrs}, Defaults()).id
                for _ in range(n_ports)]
        return net.id, made
    return _run(store, work)


def test_groups_rules_and_memberships_reach_nb(store, nb_server, syncer):
    web_id = _run(store, lambda s: secgroups.create_security_group(s, CTX, {"name": "web"}, Defaults()).id)
    rule_id = _run(store, lambda s: sgrules.create_rule(s, CTX, {
        "security_group_id": web_id, "direction": "ingress", "protocol": "tcp", "port_range_min": 80,
        "port_range_max": 80, "remote_ip_prefix": "10.0.0.0/8"}, Defaults()).id)
    net_id, _ = _network(store)
    plain = _run(store, lambda s: ports.create_port(s, CTX, {"network_id": net_id}, Defaults()).id)
    named = _run(store, lambda s: ports.create_port(s, CTX, {"network_id": net_id, "security_groups": [web_id]},
                                                    Defaults()).id)
    default_id = _run(store, lambda s: secgroups.ensure_default(s, "p1").id)
    assert syncer.flush(20)
    web_pg = port_group_name(web_id)
    assert f"outport == @{web_pg} && ip4 && ip4.src == 10.0.0.0/8 && tcp && tcp.dst == 80" in _acls_of(nb_server, web_id)
    assert len(_acls_of(nb_server, web_id)) == 3  # two egress rules of a new group, one ingress
    assert len(_acls_of(nb_server, default_id)) == 4
    assert _members(nb_server, web_id) == 1 and _members(nb_server, default_id) == 1
    assert _members(nb_server, f"{net_id}/drop") == 2
    acl = next(r for r in _rows(nb_server, "ACL") if r["name"] == rule_id)
    assert (acl["action"], acl["direction"], acl["priority"]) == ("allow-related", "to-lport", 1002)

    _run(store, lambda s: ports.update_port(s, CTX, plain, {"security_groups": [web_id, default_id]}))
    _run(store, lambda s: ports.update_port(s, CTX, named, {"port_security_enabled": False, "security_groups": []}))
    assert syncer.flush(20)
    assert _members(nb_server, web_id) == 1 and _members(nb_server, default_id) == 1
    assert _members(nb_server, f"{net_id}/drop") == 1  # the port without port security left it
    _run(store, lambda s: secgroups.update_security_group(s, CTX, web_id, {"name": "www"}))
    _run(store, lambda s: sgrules.delete_rule(s, CTX, rule_id))
    assert syncer.flush(20)
    assert len(_acls_of(nb_server, web_id)) == 2
    _run(store, lambda s: ports.delete_port(s, CTX, plain))
    _run(store, lambda s: secgroups.delete_security_group(s, CTX, web_id))
    assert syncer.flush(20)
    assert web_pg not in nb_server.nbctl("--bare", "--columns=name", "list", "Port_Group")
    assert syncer.drift() == []


def test_acl_count_of_a_rule_is_flat_in_the_ports_of_its_group(store, nb_server, syncer):
    group_id = _run(store, lambda s: secgroups.create_security_group(s, CTX, {"name": "many"}, Defaults()).id)
    _run(store, lambda s: sgrules.create_rule(s, CTX, {"security_group_id": group_id, "direction": "ingress",
                                                       "protocol": "tcp", "port_range_min": 22, "port_range_max": 22},
                                                      Defaults()))
    counts = {}
    net_id, _ = _network(store, 1, security_groups=[group_id])
    for total in (1, 200):
        if total > 1:
            _run(store, lambda s: [ports.create_port(s, CTX, {"network_id": net_id, "security_groups": [group_id]},
                                                     Defaults()) for _ in range(total - 1)])
        assert syncer.flush(60)
        assert _members(nb_server, group_id) == total
        counts[total] = len(_acls_of(nb_server, group_id))
    assert counts == {1: 3, 200: 3}
    assert syncer.drift() == []
