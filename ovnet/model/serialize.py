"""Model rows to Neutron-shaped dicts, exactly as the API's show returns them (Neutron API v2.0).

Timestamps are ISO 8601 UTC with a trailing "Z"; ``tenant_id`` repeats ``project_id`` as Neutron
still does for old clients.
"""

from __future__ import annotations

import datetime as dt
import operator

from ovnet.model.schema import (FloatingIP, Network, Port, Router, SecurityGroup, SecurityGroupRule, StandardAttrs,
                                 Subnet, port_status)


def _time(value: dt.datetime | str) -> str:
    if isinstance(value, str):  # SQLite's text as stored, "YYYY-MM-DD HH:MM:SS.ffffff" (loader.rows_query)
        return f"{value[:10]}T{value[11:19]}Z"
    return value.isoformat(timespec="seconds") + "Z"


def standard_dict(row: StandardAttrs | SecurityGroupRule, named: bool = True) -> dict:
    """The standard attributes every resource shows (id, name, project, revision, timestamps, tags);
    without ``name`` when not ``named`` (security group rules have none)."""
    return {
        "id": row.id,
        **({"name": row.name} if named else {}),
        "description": row.description,
        "project_id": row.project_id,
        "tenant_id": row.project_id,
        "revision_number": row.revision_number,
        "created_at": _time(row.created_at),
        "updated_at": _time(row.updated_at),
        "tags": list(row.tags),
    }


def network_dict(net: Network) -> dict:
    """A network as Neutron shows it; ``subnets`` lists subnet ids in creation order;
    ``ipv4_address_scope``/``ipv6_address_scope``: the address scope of the pool its subnets of
    that IP version came from, else None (extension address-scope)."""
    scopes = {pool.ip_version: pool.address_scope_id for pool in net.subnet_pools}
    return {
        **standard_dict(net),
        "admin_state_up": net.admin_state_up,
        "status": net.status,
        "mtu": net.mtu,
        "shared": net.shared,
        "port_security_enabled": net.port_security_enabled,
        "subnets": [s.id for s in net.subnets],
        "router:external": net.router_external,
        "provider:network_type": net.provider_network_type,
        "provider:physical_network": net.provider_physical_network,
        "provider:segmentation_id": net.provider_segmentation_id,
        "ipv4_address_scope": scopes.get(4),
        "ipv6_address_scope": scopes.get(6),
    }


def subnet_dict(subnet: Subnet) -> dict:
    """A subnet as Neutron shows it; ``allocation_pools`` as [{"start", "end"}] (inclusive)."""
    return {
        **standard_dict(subnet),
        "network_id": subnet.network_id,
        "cidr": subnet.cidr,
        "ip_version": subnet.ip_version,
        "gateway_ip": subnet.gateway_ip,
        "enable_dhcp": subnet.enable_dhcp,
        "ipv6_address_mode": subnet.ipv6_address_mode,
        "ipv6_ra_mode": subnet.ipv6_ra_mode,
        "dns_nameservers": list(subnet.dns_nameservers),
        "host_routes": [dict(r) for r in subnet.host_routes],
        "allocation_pools": [{"start": p.first_ip, "end": p.last_ip} for p in subnet.allocation_pools],
        "subnetpool_id": subnet.subnetpool_id,
    }


_GROUP_ID = operator.attrgetter("security_group_id")


def port_dict(port: Port) -> dict:
    """A port as Neutron shows it with the binding, port-security and allowed-address-pairs attributes.

    ``binding:vif_type`` is "ovs" once the port is bound to a host (``binding:host_id``), else "unbound".
    """
    return {
        **standard_dict(port),
        "network_id": port.network_id,
        "mac_address": port.mac_address,
        "admin_state_up": port.admin_state_up,
        "status": port_status(port.admin_state_up, port.status),
        "device_id": port.device_id,
        "device_owner": port.device_owner,
        "fixed_ips": [{"subnet_id": a.subnet_id, "ip_address": a.ip_address} for a in port.fixed_ips],
        "binding:host_id": port.binding_host_id,
        "binding:vif_type": "ovs" if port.binding_host_id else "unbound",
        "binding:vnic_type": port.binding_vnic_type,
        "binding:profile": dict(port.binding_profile),
        "binding:vif_details": {"port_filter": True} if port.binding_host_id else {},
        "port_security_enabled": port.port_security_enabled,
        # map, not list comprehensions: Python 3.11 makes a function per comprehension, and a
        # listing of 10,000 ports ran 20,000 of them over lists nearly always empty or of one.
        "allowed_address_pairs": list(map(dict, port.allowed_address_pairs)),
        "security_groups": list(map(_GROUP_ID, port.security_group_bindings)),
    }


def security_group_rule_dict(rule: SecurityGroupRule) -> dict:
    """A security group rule as Neutron shows it (no name: rules have none; tags: standard-attr-tag)."""
    return {
        **standard_dict(rule, named=False),
        "security_group_id": rule.security_group_id,
        "direction": rule.direction,
        "ethertype": rule.ethertype,
        "protocol": rule.protocol,
        "port_range_min": rule.port_range_min,
        "port_range_max": rule.port_range_max,
        "remote_ip_prefix": rule.remote_ip_prefix,
        "remote_group_id": rule.remote_group_id,
    }


def security_group_dict(group: SecurityGroup) -> dict:
    """A security group as Neutron shows it, with its rules (oldest first) and ``stateful``."""
    return {
        **standard_dict(group),
        "stateful": group.stateful,
        "security_group_rules": [security_group_rule_dict(r) for r in group.rules],
    }


def router_dict(router: Router) -> dict:
    """A router as Neutron shows it (router, ext-gw-mode, extraroute extensions).

    ``external_gateway_info`` is None without a gateway, else {"network_id", "enable_snat",
    "external_fixed_ips": [{"subnet_id", "ip_address"}]}; ``routes`` [{"destination", "nexthop"}].
    """
    gateway = None
    if router.gw_network_id:
        gateway = {
            "network_id": router.gw_network_id,
            "enable_snat": router.enable_snat,
            "external_fixed_ips": [{"subnet_id": a.subnet_id, "ip_address": a.ip_address}
                                   for a in router.gw_fixed_ips],
        }
    return {
        **standard_dict(router),
        "admin_state_up": router.admin_state_up,
        "status": router.status,
        "external_gateway_info": gateway,
        "routes": [dict(r) for r in router.routes],
    }


def floatingip_dict(fip: FloatingIP) -> dict:
    """A floating IP as Neutron shows it; ``port_id``/``fixed_ip_address``/``router_id`` are None
    while it is not associated."""
    return {
        **standard_dict(fip),
        "floating_network_id": fip.floating_network_id,
        "floating_ip_address": fip.floating_ip_address,
        "port_id": fip.port_id,
        "fixed_ip_address": fip.fixed_ip_address,
        "router_id": fip.router_id,
        "status": fip.status,
        "port_details": None,
    }
