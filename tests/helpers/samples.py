"""A small model snapshot (one network, an IPv4 and an IPv6 subnet, one port) as plain data, in the
shape the syncer reads (``{"networks", "subnets", "ports"}`` of Neutron-shaped dicts)."""

from __future__ import annotations

NET = "5b6f7e1c-0000-4000-8000-000000000001"
SUB4 = "5b6f7e1c-0000-4000-8000-000000000002"
SUB6 = "5b6f7e1c-0000-4000-8000-000000000003"
PORT = "5b6f7e1c-0000-4000-8000-000000000004"


def snapshot() -> dict:
    """A fresh copy of the sample snapshot (tests may change it)."""
    return {
        "networks": [{"id": NET, "name": "blue", "project_id": "p1", "mtu": 1442, "revision_number": 3,
                      "admin_state_up": True}],
        "subnets": [
            {"id": SUB4, "name": "blue4", "project_id": "p1", "network_id": NET, "cidr": "10.0.0.0/24",
             "ip_version": 4, "gateway_ip": "10.0.0.1", "enable_dhcp": True,
             "dns_nameservers": ["10.0.0.53", "2001:db8::53"],
             "host_routes": [{"destination": "192.168.0.0/16", "nexthop": "10.0.0.254"}],
             "revision_number": 1},
            {"id": SUB6, "name": "blue6", "project_id": "p1", "network_id": NET, "cidr": "2001:db8::/64",
             "ip_version": 6, "gateway_ip": "2001:db8::1", "enable_dhcp": True,
             "ipv6_address_mode": "dhcpv6-stateful", "dns_nameservers": ["2001:db8::53"],
             "host_routes": [], "revision_number": 2},
        ],
        "ports": [
            {"id": PORT, "name": "vm1", "project_id": "p1", "network_id": NET, "mac_address": "fa:16:3e:00:00:01",
             "fixed_ips": [{"subnet_id": SUB4, "ip_address": "10.0.0.5"},
                           {"subnet_id": SUB6, "ip_address": "2001:db8::5"}],
             "port_security_enabled": True, "allowed_address_pairs": [], "device_owner": "compute:nova",
             "admin_state_up": True, "binding:host_id": "hv1", "revision_number": 7},
        ],
    }
