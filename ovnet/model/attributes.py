"""Attribute validation of request bodies (Neutron API v2.0 attribute maps, in ovnet's own words).

Each resource has a table of attributes: how a value is checked and normalised, whether it may be
given on create (POST) or update (PUT), and its default. Every check raises BadRequest naming the
field, so bad input never reaches the store.
"""

from __future__ import annotations

import ipaddress
import json
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ovnet.model.errors import BadRequest, invalid_input

MAX_STRING = 255
MAX_TAG = 60
# Neutron's defaults: max_dns_nameservers, max_subnet_host_routes, max_allowed_address_pair, and
# the tag extension's MAX_TAGS per resource.
MAX_DNS_NAMESERVERS = 5
MAX_HOST_ROUTES = 20
MAX_ADDRESS_PAIRS = 10
MAX_TAGS = 50
MAC_RE = re.compile(r"^[0-9a-f]{2}(:[0-9a-f]{2}){5}$")
# The other spellings of a MAC that clients send and Neutron accepts, storing xx:xx:xx:xx:xx:xx
# (neutron-lib converts a port's MAC through netaddr's EUI parser before validating it; these are
# its common formats): six groups of one or two hex digits split by ":" or "-", three groups of
# four split by "." (Cisco), or twelve digits.
MAC_SPELLINGS = re.compile(r"^(?:[0-9a-f]{1,2}([:-])(?:[0-9a-f]{1,2}\1){4}[0-9a-f]{1,2}"
                           r"|[0-9a-f]{4}\.[0-9a-f]{4}\.[0-9a-f]{4}|[0-9a-f]{12})$")
IPV6_MODES = ("slaac", "dhcpv6-stateful", "dhcpv6-stateless")
NETWORK_TYPES = ("flat", "vlan", "geneve")  # provider:network_type values ovnet carries
UNSET = object()
INT64_MIN, INT64_MAX = -(1 << 63), (1 << 63) - 1

Check = Callable[[str, Any], Any]


# -- value checks: (field, raw value) -> normalised value, or BadRequest naming the field -------------
def unicode_text(field: str, value: str) -> str:
    """``value`` if it encodes as UTF-8 and holds no NUL; BadRequest otherwise. A lone UTF-16
    surrogate (which JSON's \\uD800 escapes can carry) is not Unicode text and could be stored but
    never shown again; a NUL (JSON's \\u0000) is refused by OVSDB (RFC 7047 strings), so a name
    holding one would fail every NB transaction it joins and stall the sync of every project."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise invalid_input(field, "the string holds a lone UTF-16 surrogate, which is not valid Unicode") from None
    if "\x00" in value:
        raise invalid_input(field, "the string holds a NUL character (\\u0000), which OVN cannot store")
    return value


def string(field: str, value: Any) -> str:
    if not isinstance(value, str):
        raise invalid_input(field, f"'{value}' is not a valid string")
    if len(value) > MAX_STRING:
        raise invalid_input(field, f"'{value[:20]}...' exceeds maximum length of {MAX_STRING}")
    return unicode_text(field, value)


def boolean(field: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false", "1", "0"):
        return value.lower() in ("true", "1")
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    raise invalid_input(field, f"'{value}' cannot be converted to boolean")


def integer(field: str, value: Any) -> int:
    """An integer that fits the store's 64-bit signed columns (beyond it: BadRequest, not an
    OverflowError from the database driver)."""
    if isinstance(value, bool):
        raise invalid_input(field, f"'{value}' is not an integer")
    if isinstance(value, str) and re.fullmatch(r"-?\d{1,30}", value.strip()):
        value = int(value)
    if not isinstance(value, int):
        raise invalid_input(field, f"'{value}' is not an integer")
    if not INT64_MIN <= value <= INT64_MAX:
        raise invalid_input(field, f"'{value}' is out of the 64-bit integer range")
    return value


def nullable_string(field: str, value: Any) -> str | None:
    return None if value is None else string(field, value)


def nullable_integer(field: str, value: Any) -> int | None:
    return None if value is None else integer(field, value)


def in_range(low: int, high: int) -> Check:
    def check(field: str, value: Any) -> int:
        number = integer(field, value)
        if not low <= number <= high:
            raise invalid_input(field, f"'{number}' is not in range {low} through {high}")
        return number
    return check


def one_of(*allowed: Any, nullable: bool = False) -> Check:
    def check(field: str, value: Any) -> Any:
        if value is None and nullable:
            return None
        if field == "ip_version":
            value = integer(field, value)
        if value not in allowed:
            raise invalid_input(field, f"'{value}' is not in {list(allowed)}")
        return value
    return check


def uuid_string(field: str, value: Any) -> str:
    try:
        return str(uuid.UUID(string(field, value)))
    except ValueError:
        raise invalid_input(field, f"'{value}' is not a valid UUID") from None


def nullable_uuid_string(field: str, value: Any) -> str | None:
    return None if value is None else uuid_string(field, value)


def ip_address(field: str, value: Any) -> str:
    try:
        return str(ipaddress.ip_address(string(field, value)))
    except ValueError:
        raise invalid_input(field, f"'{value}' is not a valid IP address") from None


def host_id(field: str, value: Any) -> str:
    """A host name, or "" for none: null is "" too (``openstack port unset --host`` sends null)."""
    return "" if value is None else string(field, value)


def nullable_ip_address(field: str, value: Any) -> str | None:
    return None if value is None else ip_address(field, value)


def cidr(field: str, value: Any) -> str:
    text = string(field, value)
    try:
        iface = ipaddress.ip_interface(text)
    except ValueError:
        raise invalid_input(field, f"'{value}' is not a valid IP subnet") from None
    if "/" not in text:
        raise invalid_input(field, f"'{value}' is not a valid IP subnet")
    # Refused rather than rewritten (host bits, upper case, zeros, "/024"): a client that compares
    # what it sent with what it got back must not be surprised (neutron-lib's validate_subnet).
    if text != str(iface.network):
        raise invalid_input(field, f"'{value}' isn't a recommended CIDR, '{iface.network}' is recommended")
    return text


def ip_or_cidr(field: str, value: Any) -> str:
    text = string(field, value)
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        return cidr(field, text)


def ip_prefix(field: str, value: Any) -> str | None:
    """An address or CIDR as its network in CIDR form ("10.0.0.5" -> "10.0.0.5/32", "10.0.0.5/24"
    -> "10.0.0.0/24"), as Neutron's convert_ip_prefix_to_cidr; None stays None."""
    if value is None:
        return None
    try:
        return str(ipaddress.ip_network(string(field, value), strict=False))
    except ValueError:
        raise invalid_input(field, f"'{value}' is not a valid IP prefix") from None


def nullable(check: Check) -> Check:
    def wrapped(field: str, value: Any) -> Any:
        return None if value is None else check(field, value)
    return wrapped


def mac_address(field: str, value: Any) -> str:
    """A unicast MAC in any spelling of MAC_SPELLINGS (any case), returned as lowercase
    xx:xx:xx:xx:xx:xx; BadRequest for anything else, a multicast or the all-zero address."""
    text = string(field, value).lower()
    if not MAC_RE.match(text):
        if not MAC_SPELLINGS.match(text):
            raise invalid_input(field, f"'{value}' is not a valid MAC address")
        groups = re.split(r"[:.-]", text)
        digits = "".join(g.zfill(2) for g in groups) if len(groups) == 6 else "".join(groups)
        text = ":".join(digits[i:i + 2] for i in range(0, 12, 2))
    if int(text[:2], 16) & 1 or text == "00:00:00:00:00:00":
        raise invalid_input(field, f"'{value}' is not a valid unicast MAC address")
    return text


def mapping(field: str, value: Any) -> dict:
    if not isinstance(value, dict):
        raise invalid_input(field, f"'{value}' is not a dictionary")
    unicode_text(field, json.dumps(value, ensure_ascii=False))
    return value


def list_of(item: Check, unique: bool = False, limit: tuple[int, str] | None = None) -> Check:
    """A list of ``item``s; ``unique``: no repeats; ``limit``: (most items, the Neutron exception
    type a longer list raises as BadRequest, e.g. DNSNameServersExhausted)."""
    def check(field: str, value: Any) -> list:
        if not isinstance(value, list):
            raise invalid_input(field, f"'{value}' is not a list")
        if limit is not None and len(value) > limit[0]:
            raise BadRequest(f"Unable to complete operation for {field}. The number of items {len(value)} exceeds "
                             f"the maximum {limit[0]}.", limit[1], field)
        items = [item(field, v) for v in value]
        if unique and len({repr(i) for i in items}) != len(items):
            raise invalid_input(field, f"Duplicate items in the list: '{value}'")
        return items
    return check


def record(required: dict[str, Check], optional: dict[str, Check] | None = None) -> Check:
    """A dict with exactly these keys (``optional`` ones may be missing), each checked."""
    optional = optional or {}

    def check(field: str, value: Any) -> dict:
        data = mapping(field, value)
        unknown = set(data) - set(required) - set(optional)
        if unknown:
            raise invalid_input(field, f"Unrecognized key(s) {sorted(unknown)} in '{value}'")
        missing = set(required) - set(data)
        if missing:
            raise invalid_input(field, f"Missing key(s) {sorted(missing)} in '{value}'")
        checks = {**required, **optional}
        return {k: checks[k](field, v) for k, v in data.items()}
    return check


def tag(field: str, value: Any) -> str:
    text = string(field, value)
    if not text or len(text) > MAX_TAG or "," in text:
        raise invalid_input(field, f"'{value}' is not a valid tag (1 to {MAX_TAG} characters, no comma)")
    return text


TAGS = list_of(tag, unique=True, limit=(MAX_TAGS, "TagLimitExceeded"))


# -- attribute tables -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Attr:
    """One attribute: its check, whether POST/PUT may set it, its default (UNSET: none / computed)."""

    check: Check
    post: bool = True
    put: bool = True
    default: Any = UNSET
    required: bool = False


READ_ONLY = Attr(string, post=False, put=False)
COMMON = {
    "id": READ_ONLY,
    "name": Attr(string, default=""),
    "description": Attr(string, default=""),
    "project_id": Attr(string, put=False),
    "tenant_id": Attr(string, put=False),
    "tags": Attr(TAGS, put=False, default=()),
    "revision_number": READ_ONLY,
    "created_at": READ_ONLY,
    "updated_at": READ_ONLY,
    "status": READ_ONLY,
}

NETWORK = {
    **COMMON,
    "admin_state_up": Attr(boolean, default=True),
    "mtu": Attr(in_range(68, 65535)),
    "shared": Attr(boolean, default=False),
    "port_security_enabled": Attr(boolean, default=True),
    "subnets": READ_ONLY,
    "router:external": Attr(boolean, default=False),
    "provider:network_type": Attr(one_of(*NETWORK_TYPES), put=False),
    "provider:physical_network": Attr(nullable_string, put=False, default=None),
    "provider:segmentation_id": Attr(nullable_integer, put=False, default=None),
    "ipv4_address_scope": READ_ONLY,
    "ipv6_address_scope": READ_ONLY,
}

SUBNET = {
    **COMMON,
    "network_id": Attr(uuid_string, put=False, required=True),
    "cidr": Attr(cidr, put=False),  # required unless subnetpool_id is given (subnets.create_subnet)
    "ip_version": Attr(one_of(4, 6), put=False, required=True),
    "gateway_ip": Attr(nullable_ip_address),
    "enable_dhcp": Attr(boolean, default=True),
    "dns_nameservers": Attr(list_of(ip_address, unique=True, limit=(MAX_DNS_NAMESERVERS, "DNSNameServersExhausted")),
                            default=()),
    "host_routes": Attr(list_of(record({"destination": cidr, "nexthop": ip_address}),
                                limit=(MAX_HOST_ROUTES, "HostRoutesExhausted")), default=()),
    "allocation_pools": Attr(list_of(record({"start": ip_address, "end": ip_address}))),
    "ipv6_address_mode": Attr(one_of(*IPV6_MODES, nullable=True), put=False, default=None),
    "ipv6_ra_mode": Attr(one_of(*IPV6_MODES, nullable=True), put=False, default=None),
    "subnetpool_id": Attr(nullable_uuid_string, put=False, default=None),
    "prefixlen": Attr(in_range(0, 128), put=False),
}

PORT = {
    **COMMON,
    "network_id": Attr(uuid_string, put=False, required=True),
    "mac_address": Attr(mac_address),
    "admin_state_up": Attr(boolean, default=True),
    "device_id": Attr(string, default=""),
    "device_owner": Attr(string, default=""),
    "fixed_ips": Attr(list_of(record({}, {"subnet_id": uuid_string, "ip_address": ip_address}))),
    "binding:host_id": Attr(host_id, default=""),
    "binding:vnic_type": Attr(one_of("normal"), default="normal"),
    "binding:profile": Attr(mapping, default=None),
    "binding:vif_type": READ_ONLY,
    "binding:vif_details": READ_ONLY,
    "port_security_enabled": Attr(boolean),
    "allowed_address_pairs": Attr(
        list_of(record({"ip_address": ip_or_cidr}, {"mac_address": mac_address}), unique=True,
                limit=(MAX_ADDRESS_PAIRS, "AllowedAddressPairExhausted")), default=()
    ),
    "security_groups": Attr(list_of(uuid_string, unique=True)),
}

SECURITY_GROUP = {
    **{k: v for k, v in COMMON.items() if k != "status"},
    "stateful": Attr(boolean, default=True),
    "security_group_rules": READ_ONLY,
}

# Rules cannot be changed once made, except their description (Neutron: a rule is replaced, not edited).
SECURITY_GROUP_RULE = {
    "id": READ_ONLY,
    "project_id": Attr(string, put=False),
    "tenant_id": Attr(string, put=False),
    "security_group_id": Attr(uuid_string, put=False, required=True),
    "direction": Attr(one_of("ingress", "egress"), put=False, required=True),
    "ethertype": Attr(one_of("IPv4", "IPv6"), put=False, default="IPv4"),
    "protocol": Attr(nullable(string), put=False, default=None),
    "port_range_min": Attr(nullable(integer), put=False, default=None),
    "port_range_max": Attr(nullable(integer), put=False, default=None),
    "remote_ip_prefix": Attr(ip_prefix, put=False, default=None),
    "remote_group_id": Attr(nullable(uuid_string), put=False, default=None),
    "description": Attr(string, default=""),
    "tags": Attr(TAGS, put=False, default=()),
    "revision_number": READ_ONLY,
    "created_at": READ_ONLY,
    "updated_at": READ_ONLY,
}


def validate(attrs: dict[str, Attr], resource: str, body: Any, create: bool) -> dict:
    """Check a request's attributes for ``resource`` (e.g. "port"); return normalised values.

    ``body`` is the inner dict (the value of {"port": {...}}). On create, missing attributes with a
    default get it and missing required ones raise; on update only given attributes are returned.
    Raises BadRequest naming the field for unknown, read-only or malformed attributes.
    """
    if not isinstance(body, dict):
        raise BadRequest(f"Resource body for {resource} must be an object", field=resource)
    unknown = sorted(set(body) - set(attrs))
    if unknown:
        raise BadRequest(f"Unrecognized attribute(s) '{', '.join(unknown)}'", field=unknown[0])
    values: dict[str, Any] = {}
    for name, value in body.items():
        attr = attrs[name]
        if create and not attr.post:
            raise BadRequest(f"Attribute '{name}' not allowed in POST", field=name)
        if not create and not attr.put:
            raise BadRequest(f"Cannot update read-only attribute {name}", field=name)
        values[name] = attr.check(name, value)
    if create:
        for name, attr in attrs.items():
            if name in values:
                continue
            if attr.required:
                raise BadRequest(f"Failed to parse request. Required attribute '{name}' not specified",
                                 field=name)
            if attr.default is not UNSET:
                values[name] = attr.default
    return values
