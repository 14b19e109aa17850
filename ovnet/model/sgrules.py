"""Security group rules: validation, create, update (description only), delete.

Neutron API v2.0 "Security group rules (security-group-rules)" and its errors: a protocol is a name
Neutron knows, a number 0-255 (kept as a string) or "any"/None; a port range needs a protocol that
has ports (TCP, UDP, UDP-Lite, SCTP, DCCP); for ICMP ``port_range_min`` is the type and
``port_range_max`` the code; ``remote_ip_prefix`` and ``remote_group_id`` exclude each other; a rule
equal to an existing one of the group is SecurityGroupRuleExists. A rule change is an update of its
group (revision + outbox), since the group's OVN rows carry its rules.
"""

from __future__ import annotations

import ipaddress

from sqlalchemy.orm import Session

from ovnet.model import attributes, quotas
from ovnet.model.common import Defaults, get_owned, get_visible, record_update
from ovnet.model.errors import BadRequest, Conflict
from ovnet.model.schema import SecurityGroup, SecurityGroupRule, new_id, utcnow
from ovnet.model.tenancy import Context, require_owner

# IANA protocol numbers of the names Neutron accepts (neutron-lib constants IP_PROTOCOL_MAP).
PROTOCOLS = {
    "ah": 51, "dccp": 33, "egp": 8, "esp": 50, "gre": 47, "hopopt": 0, "icmp": 1, "icmpv6": 58,
    "igmp": 2, "ipip": 4, "ipv6-encap": 41, "ipv6-frag": 44, "ipv6-icmp": 58, "ipv6-nonxt": 59,
    "ipv6-opts": 60, "ipv6-route": 43, "ospf": 89, "pgm": 113, "rsvp": 46, "sctp": 132, "tcp": 6,
    "udp": 17, "udplite": 136, "vrrp": 112,
}
PORTED = {6, 17, 33, 132, 136}  # TCP, UDP, DCCP, SCTP, UDP-Lite
ICMP = {1, 58}
ICMPV6_NAMES = {"icmpv6", "ipv6-icmp", "58"}
COLUMNS = ("direction", "ethertype", "protocol", "port_range_min", "port_range_max", "remote_ip_prefix",
           "remote_group_id", "description")


def protocol_number(protocol: str | None) -> int | None:
    """IANA number of a stored protocol (a name of PROTOCOLS or a decimal string); None for any."""
    if protocol is None:
        return None
    return PROTOCOLS[protocol] if protocol in PROTOCOLS else int(protocol)


def _protocol(value: str | None) -> str | None:
    if value is None or value.lower() == "any":
        return None
    if value.strip().isdigit():
        number = int(value)
        if number > 255:
            raise BadRequest(f"Security group rule protocol {value} not supported. Only protocol values "
                             f"{sorted(PROTOCOLS)} and integer representations [0 to 255] are supported.",
                             "SecurityGroupRuleInvalidProtocol", "protocol")
        return str(number)
    if value.lower() not in PROTOCOLS:
        raise BadRequest(f"Security group rule protocol {value} not supported. Only protocol values "
                         f"{sorted(PROTOCOLS)} and integer representations [0 to 255] are supported.",
                         "SecurityGroupRuleInvalidProtocol", "protocol")
    return value.lower()


def _check_ports(values: dict) -> None:
    low, high, number = values["port_range_min"], values["port_range_max"], protocol_number(values["protocol"])
    if low is None and high is None:
        return
    if number is None:
        raise BadRequest("Must also specify protocol if port range is given.",
                         "SecurityGroupProtocolRequiredWithPorts", "protocol")
    if number in ICMP:
        for field, value in (("type", low), ("code", high)):
            if value is not None and not 0 <= value <= 255:
                attr = "port_range_min" if field == "type" else "port_range_max"
                raise BadRequest(f"Invalid value for ICMP {field} ({attr}) {value}. It must be 0 to 255.",
                                 "SecurityGroupInvalidIcmpValue", attr)
        if low is None:
            raise BadRequest(f"ICMP code (port-range-max) {high} is provided but ICMP type (port-range-min) "
                             "is missing.", "SecurityGroupMissingIcmpType", "port_range_min")
        return
    if number not in PORTED:
        raise BadRequest(f"Invalid protocol {values['protocol']} for port range, only supported for TCP, UDP, "
                         "UDPLITE, SCTP and DCCP.", "SecurityGroupInvalidProtocolForPortRange", "protocol")
    for value in (low, high):
        if value is not None and not 1 <= value <= 65535:
            raise BadRequest(f"Invalid value for port {value}", "SecurityGroupInvalidPortValue", "port_range_min")
    if low is None or high is None or low > high:
        raise BadRequest("For TCP/UDP protocols, port_range_min must be <= port_range_max",
                         "SecurityGroupInvalidPortRange", "port_range_min")


def _check_family(values: dict) -> None:
    ethertype, prefix = values["ethertype"], values["remote_ip_prefix"]
    if prefix is not None and ipaddress.ip_network(prefix).version != int(ethertype[-1]):
        raise BadRequest(f"Conflicting value ethertype {ethertype} for CIDR {prefix}",
                         "SecurityGroupRuleParameterConflict", "remote_ip_prefix")
    if ethertype == "IPv4" and values["protocol"] in ICMPV6_NAMES:
        raise BadRequest(f"Invalid ethertype {ethertype} for protocol {values['protocol']}.",
                         "SecurityGroupEthertypeConflictWithProtocol", "ethertype")


def _key(rule) -> tuple:
    # A /0 prefix is the same as no prefix, and a protocol name the same as its number.
    prefix = rule.remote_ip_prefix
    if prefix is not None and ipaddress.ip_network(prefix).prefixlen == 0:
        prefix = None
    return (rule.direction, rule.ethertype, protocol_number(rule.protocol), rule.port_range_min,
            rule.port_range_max, prefix, rule.remote_group_id)


def add_rule(session: Session, group: SecurityGroup, **values) -> SecurityGroupRule:
    """Add a rule with ``values`` (COLUMNS, already valid) to ``group``; Conflict
    SecurityGroupRuleExists when the group holds an equal rule. Does not bump the group."""
    now = utcnow()  # set here, not at flush: the response is serialised before the flush
    rule = SecurityGroupRule(id=new_id(), project_id=group.project_id, security_group_id=group.id,
                             revision_number=1, created_at=now, updated_at=now, tags=list(values.get("tags") or ()),
                             **{c: values.get(c) for c in COLUMNS if c != "description"},
                             description=values.get("description") or "")
    for existing in group.rules:
        if _key(existing) == _key(rule):
            raise Conflict(f"Security group rule already exists. Rule id is {existing.id}.",
                           "SecurityGroupRuleExists")
    group.rules.append(rule)
    return rule


def create_rule(session: Session, ctx: Context, body: object, defaults: Defaults) -> SecurityGroupRule:
    """Create a rule from a request body's inner dict (Neutron: POST /v2.0/security-group-rules).

    Raises BadRequest (the validation errors in the module docstring, and
    SecurityGroupRemoteGroupAndRemoteIpPrefix), NotFound SecurityGroupNotFound (the group or the
    remote group is not the caller's), Forbidden (a member naming another project), Conflict
    SecurityGroupRuleExists, or OverQuota past the group's project's ``security_group_rule`` quota
    (the rules a group is created with count but are never refused, as in Neutron).
    """
    values = attributes.validate(attributes.SECURITY_GROUP_RULE, "security_group_rule", body, create=True)
    values["protocol"] = _protocol(values["protocol"])
    if values["remote_ip_prefix"] is not None and values["remote_group_id"] is not None:
        raise BadRequest("Only remote_ip_prefix or remote_group_id may be provided.",
                         "SecurityGroupRemoteGroupAndRemoteIpPrefix", "remote_ip_prefix")
    _check_ports(values)
    _check_family(values)
    group = get_visible(session, ctx, SecurityGroup, values["security_group_id"])
    require_owner(ctx, group, "create_security_group_rule")
    wanted = values.pop("project_id", None) or values.pop("tenant_id", None)
    if wanted and wanted != group.project_id:
        raise BadRequest("The rule's project must be its security group's project", field="project_id")
    quotas.check(session, group.project_id, "security_group_rule", defaults.quotas)
    if values["remote_group_id"] is not None:
        get_visible(session, ctx, SecurityGroup, values["remote_group_id"])
    rule = add_rule(session, group, **values)
    record_update(session, group)
    return rule


def update_rule(session: Session, ctx: Context, rule_id: str, body: object) -> SecurityGroupRule:
    """Change a rule's description (the only updatable attribute); NotFound SecurityGroupRuleNotFound."""
    values = attributes.validate(attributes.SECURITY_GROUP_RULE, "security_group_rule", body, create=False)
    rule = get_owned(session, ctx, SecurityGroupRule, rule_id, "update_security_group_rule")
    if "description" in values and values["description"] != rule.description:
        rule.description = values["description"]
        rule.revision_number += 1
        rule.updated_at = utcnow()
    return rule


def delete_rule(session: Session, ctx: Context, rule_id: str) -> None:
    """Delete a rule (its group's OVN rows follow); NotFound SecurityGroupRuleNotFound."""
    rule = get_owned(session, ctx, SecurityGroupRule, rule_id, "delete_security_group_rule")
    group = session.get(SecurityGroup, rule.security_group_id)
    session.delete(rule)
    record_update(session, group)

