"""The registry's declarations hang together, and the related-id logic follows the dependencies."""

from __future__ import annotations

from ovnet.model import registry
from ovnet.ovn import registry as ovn_registry
from ovnet.ovn.translate import DHCP, LS, LSP

NET, SUB, PORT, OTHER = "n1", "s1", "p1", "p2"
SNAP = {
    "networks": [{"id": NET}],
    "subnets": [{"id": SUB, "network_id": NET, "subnetpool_id": None}],
    "ports": [{"id": PORT, "network_id": NET, "fixed_ips": [{"subnet_id": SUB}]},
              {"id": OTHER, "network_id": NET, "fixed_ips": []}],
}


def test_every_kind_is_named_by_its_table_and_unique():
    assert {"network", "subnetpool", "subnet", "port", "security_group", "security_group_rule"} <= set(registry.KINDS)
    for name, kind in registry.KINDS.items():
        assert kind.model.noun.kind == name == kind.name
        assert registry.BY_PLURAL[kind.plural] is kind


def test_related_ids_follow_the_declared_dependencies():
    # A port needs its network and subnets; a subnet's followers are its ports with an address on
    # it (their DHCP reference); a network's followers are its subnets (DHCP MTU), not its ports.
    assert registry.related_ids(SNAP, {PORT}) == {PORT, NET, SUB}
    assert registry.related_ids(SNAP, {SUB}) == {SUB, NET, PORT}
    assert registry.related_ids(SNAP, {NET}) == {NET, SUB}
    assert registry.related_ids(SNAP, {"gone"}) == {"gone"}
    assert registry.referenced_ids({"ports": SNAP["ports"]}) == {NET, SUB}


def test_followed_kinds_and_dependency_closure():
    assert registry.followed("network") and registry.followed("subnet") and not registry.followed("port")
    assert registry.with_dependencies(["port"]) == ("network", "subnetpool", "subnet", "port", "security_group")
    assert registry.with_dependencies(["network"]) == ("network",)


def test_ovn_tables_declare_parents_before_children():
    assert ovn_registry.ORDER[:5] == (LS, DHCP, "Port_Group", "ACL", LSP)
    acl = ovn_registry.TABLE["ACL"]
    assert (acl.parent.table, acl.parent.column, acl.parent.key) == ("Port_Group", "acls", "ovnet:port_group")
    lsp = ovn_registry.TABLE[LSP]
    assert [(m.table, m.column, m.key) for m in lsp.memberships] == [("Port_Group", "ports", "ovnet:port_groups")]
    assert (lsp.parent.table, lsp.parent.column, lsp.parent.key) == (LS, "ports", "ovnet:network")
    assert lsp.references == {"dhcpv4_options": DHCP, "dhcpv6_options": DHCP} and lsp.unique_name
    assert set(ovn_registry.KINDS) <= set(registry.KINDS)


def test_object_id_of_composite_keys():
    assert ovn_registry.object_id("r1/10.0.0.0/24") == "r1"
    assert ovn_registry.object_id("r1") == "r1"
