"""Security groups -> OVN Port_Group and ACL rows: pure functions, no I/O, no clock.

Mapping (DESIGN.md "Resource mapping"; ovn-nb(5) Port_Group and ACL; the shape follows Neutron's
OVN driver):

- every security group is one Port_Group (``ovnet_<group id>``, dashes as underscores) holding
  one ACL per rule: priority 1002, ``to-lport`` for ingress and ``from-lport`` for egress,
  ``allow-related`` when the group is stateful and ``allow-stateless`` when it is not. A rule
  matches on ``outport``/``inport == @<port group>``, so the number of ACLs of a rule does not
  depend on the number of ports in the group;
- a remote group is matched through the address sets OVN keeps for every port group
  (``$<port group>_ip4`` / ``_ip6``: the addresses of its ports), so membership changes need no
  ACL change;
- every network has a drop Port_Group (``ovnet_<network id>_drop``) with two ACLs at priority
  1001 that drop all IP in both directions; every port with port security is in it and in its
  groups' Port_Groups, so a packet that no rule of its port's groups allows is dropped. ARP,
  and IPv6 ND (which ovn-northd always lets through), are not IP drops here.

Ports become members from their side (``external_ids:ovnet:port_groups`` on the
Logical_Switch_Port lists the Port_Group keys, which the NB writer keeps in ``Port_Group.ports``),
so adding a port to a group with thousands of ports rewrites one row, not the group.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator, Mapping
from typing import Any

from ovnet.model.sgrules import protocol_number

PG = "Port_Group"
ACL = "ACL"
PORT_GROUP_KEY = "ovnet:port_group"  # external_ids key of an ACL naming its Port_Group's ovnet id
MEMBERSHIP_KEY = "ovnet:port_groups"  # external_ids key of a switch port listing its Port_Groups
RULE_PRIORITY = 1002  # as Neutron's OVN driver: above the drops, below OVN's own flows
DROP_PRIORITY = 1001
DROP_SUFFIX = "drop"
# IANA numbers whose ports OVN can match (its tcp/udp/sctp fields); other protocols are matched
# by number only.
PORT_FIELDS = {6: "tcp", 17: "udp", 132: "sctp"}
# Ports of the network itself (router interfaces and gateways, floating IPs) get no security
# groups in Neutron, nor the default drop.
SKIPPED_DEVICE_OWNER_PREFIX = "network:"

Row = dict[str, Any]
Item = Mapping[str, Any]


def port_group_name(key: str) -> str:
    """Port_Group.name of an ovnet key: ``ovnet_`` + the key with ``-`` and ``/`` as ``_`` (a name
    OVN accepts in ``@name`` and ``$name_ip4``)."""
    return "ovnet_" + key.replace("-", "_").replace("/", "_")


def drop_key(network_id: str) -> str:
    """The ovnet key of a network's drop Port_Group: ``<network id>/drop``."""
    return f"{network_id}/{DROP_SUFFIX}"


def _ids(item: Item, kind: str, key: str, **extra: str) -> dict[str, str]:
    return {
        "ovnet:id": key,
        "ovnet:type": kind,
        "ovnet:project": item.get("project_id") or "",
        "ovnet:name": item.get("name") or "",
        "ovnet:revision": str(item.get("revision_number", 0)),
        **extra,
    }


def rule_match(rule: Item, group_key: str) -> str:
    """The OVN match of a rule of the group ``group_key`` (ovn-sb(5) "Logical_Flow" match syntax).

    Ingress: ``outport == @pg && ip4 && ip4.src == <prefix | $remote_ip4> && tcp && tcp.dst == N``;
    egress uses ``inport`` and ``ip4.dst``. A /0 prefix adds nothing. ICMP type and code come from
    ``port_range_min``/``max`` (``icmp4``/``icmp6`` by the ethertype, as Neutron maps "icmp" on
    IPv6); a port range on TCP, UDP or SCTP becomes ``dst == N`` or ``dst >= a && dst <= b``.
    """
    ingress = rule["direction"] == "ingress"
    family = "ip4" if rule["ethertype"] == "IPv4" else "ip6"
    side = "src" if ingress else "dst"
    parts = [f"{'outport' if ingress else 'inport'} == @{port_group_name(group_key)}", family]
    prefix = rule.get("remote_ip_prefix")
    if prefix and ipaddress.ip_network(prefix).prefixlen:
        parts.append(f"{family}.{side} == {prefix}")
    if rule.get("remote_group_id"):
        parts.append(f"{family}.{side} == ${port_group_name(rule['remote_group_id'])}_{family}")
    number = protocol_number(rule.get("protocol"))
    low, high = rule.get("port_range_min"), rule.get("port_range_max")
    if number in (1, 58):
        icmp = "icmp4" if family == "ip4" else "icmp6"
        parts.append(icmp)
        if low is not None:
            parts.append(f"{icmp}.type == {low}")
        if high is not None:
            parts.append(f"{icmp}.code == {high}")
    elif number in PORT_FIELDS:
        proto = PORT_FIELDS[number]
        parts.append(proto)
        if low is not None and low == high:
            parts.append(f"{proto}.dst == {low}")
        elif low is not None:
            parts.append(f"{proto}.dst >= {low} && {proto}.dst <= {high}")
    elif number is not None:
        parts.append(f"ip.proto == {number}")
    return " && ".join(parts)


def rule_acl(rule: Item, group: Item) -> Row:
    """The ACL row of one rule of ``group`` (a security group dict as the API shows it)."""
    key = f"{group['id']}/{rule['id']}"
    return {
        "name": [rule["id"]],
        "priority": RULE_PRIORITY,
        "direction": "to-lport" if rule["direction"] == "ingress" else "from-lport",
        "match": rule_match(rule, group["id"]),
        "action": "allow-related" if group.get("stateful", True) else "allow-stateless",
        "external_ids": _ids(group, "security_group_rule", key, **{
            PORT_GROUP_KEY: group["id"], "ovnet:security_group": group["id"], "ovnet:rule": rule["id"]}),
    }


def security_group_rows(group: Item, view: Any = None) -> Iterator[tuple[str, str, Row]]:
    """The Port_Group of a security group and one ACL per rule: ``(table, ovnet key, row)``.

    ``view`` (the whole snapshot) is not needed: membership is written from the ports' side.
    """
    yield PG, group["id"], {"name": port_group_name(group["id"]),
                            "external_ids": _ids(group, "security_group", group["id"])}
    for rule in group.get("security_group_rules") or []:
        yield ACL, f"{group['id']}/{rule['id']}", rule_acl(rule, group)


def network_drop_rows(network: Item, view: Any = None) -> Iterator[tuple[str, str, Row]]:
    """A network's drop Port_Group and its two drop ACLs (all IP, each direction)."""
    key = drop_key(network["id"])
    name = port_group_name(key)
    yield PG, key, {"name": name, "external_ids": _ids(network, "port_security_drop", key)}
    for direction, port in (("from-lport", "inport"), ("to-lport", "outport")):
        acl_key = f"{key}-{'out' if direction == 'from-lport' else 'in'}"
        yield ACL, acl_key, {
            "name": [],
            "priority": DROP_PRIORITY,
            "direction": direction,
            "match": f"{port} == @{name} && ip",
            "action": "drop",
            "external_ids": _ids(network, "port_security_drop", acl_key, **{PORT_GROUP_KEY: key}),
        }


def port_groups(port: Item) -> list[str]:
    """The Port_Group keys a port belongs to: its network's drop group and its security groups
    when port security is on; none otherwise (and none for network:* ports)."""
    if not port.get("port_security_enabled", True):
        return []
    if (port.get("device_owner") or "").startswith(SKIPPED_DEVICE_OWNER_PREFIX):
        return []
    return sorted([drop_key(port["network_id"]), *(port.get("security_groups") or [])])
