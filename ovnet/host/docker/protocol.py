"""The libnetwork remote-driver protocol: request parsing and the shapes of answers.

dockerd (20.10, the version traced in shared/reference/libnetwork-traces) POSTs JSON to
``/<Interface>.<Method>``. Parsing is lenient where dockerd is loose (empty bodies for the
argument-less calls, ``null`` Options, omitted keys, empty strings) and strict where a wrong value
would make us create the wrong thing (IDs, CIDRs, addresses, MACs): those raise ``PluginError``
before anything is created. Field names are libnetwork's (remote/api, ipams/remote/api).
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import json
import re
from dataclasses import dataclass, field

# Keys of libnetwork's option maps (libnetwork/netlabel).
GENERIC = "com.docker.network.generic"
ENABLE_IPV6 = "com.docker.network.enable_ipv6"
INTERNAL = "com.docker.network.internal"
DRIVER_MTU = "com.docker.network.driver.mtu"
MAC_OPTION = "com.docker.network.endpoint.macaddress"
REQUEST_ADDRESS_TYPE = "RequestAddressType"
GATEWAY_TYPE = "com.docker.network.gateway"

# ovnet's own options: ``-o`` (CreateNetwork) and ``--ipam-opt`` (RequestPool).
OPT_PROJECT = "ovnet.project"
OPT_NETWORK = "ovnet.network"

DOCKER_ID = re.compile(r"^[0-9a-f]{64}$")
MAC = re.compile(r"^[0-9a-f]{2}(:[0-9a-f]{2}){5}$")


class PluginError(Exception):
    """A call failed in a way the Docker user should read; ``message`` is shown after ``remote:``."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def parse_body(raw: bytes) -> dict:
    """The JSON object of a request body; an empty body or ``null`` is ``{}``.

    dockerd sends no Content-Type and, for Activate/GetCapabilities/GetDefaultAddressSpaces,
    ``Content-Length: 0``. Raises PluginError for anything that is not a JSON object."""
    text = raw.decode("utf-8", "replace").strip()
    if not text:
        return {}
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise PluginError(f"request body is not JSON: {exc}") from None
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise PluginError(f"request body must be a JSON object, not {type(value).__name__}")
    return value


def _str(body: dict, key: str, required: bool = False) -> str:
    value = body.get(key)
    if value is None or value == "":
        if required:
            raise PluginError(f"{key} is missing")
        return ""
    if not isinstance(value, str):
        raise PluginError(f"{key} must be a string, not {type(value).__name__}")
    return value


def _map(body: dict, key: str) -> dict:
    value = body.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise PluginError(f"{key} must be an object, not {type(value).__name__}")
    return value


def _docker_id(body: dict, key: str) -> str:
    value = _str(body, key, required=True)
    if not DOCKER_ID.match(value):
        raise PluginError(f"{key} {value!r} is not a Docker ID (64 lowercase hex digits)")
    return value


def _interface(value: str, key: str) -> ipaddress.IPv4Interface | ipaddress.IPv6Interface | None:
    """``addr/len`` as dockerd sends gateways, aux and endpoint addresses; "" is None."""
    if not value:
        return None
    try:
        return ipaddress.ip_interface(value)
    except ValueError:
        raise PluginError(f"{key} {value!r} is not an address with prefix length (addr/len)") from None


def parse_ip(value: str, key: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """A plain address (RequestAddress.Address, ReleaseAddress.Address); "" is None."""
    if not value:
        return None
    try:
        return ipaddress.ip_address(value)
    except ValueError:
        raise PluginError(f"{key} {value!r} is not an IP address") from None


def parse_cidr(value: str, key: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    """A network in CIDR notation with no host bits; "" is None."""
    if not value:
        return None
    try:
        return ipaddress.ip_network(value)
    except ValueError:
        raise PluginError(f"{key} {value!r} is not a network in CIDR notation") from None


def parse_mac(value: str, key: str) -> str:
    """A colon MAC string, lower-cased; "" stays ""."""
    if not value:
        return ""
    mac = value.lower()
    if not MAC.match(mac):
        raise PluginError(f"{key} {value!r} is not a MAC address (aa:bb:cc:dd:ee:ff)")
    return mac


def mac_from_base64(value: object) -> str:
    """The MAC dockerd puts in CreateEndpoint Options: base64 of the 6 bytes (``"AloBAABQ"`` is
    02:5a:01:00:00:50; libnetwork.md pitfall 5)."""
    if not isinstance(value, str):
        raise PluginError(f"{MAC_OPTION} must be a base64 string")
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise PluginError(f"{MAC_OPTION} {value!r} is not base64") from None
    if len(raw) != 6:
        raise PluginError(f"{MAC_OPTION} decodes to {len(raw)} bytes, not a 6-byte MAC")
    return ":".join(f"{b:02x}" for b in raw)


def _bool(value: object, key: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    if value is None:
        return False
    raise PluginError(f"{key} must be true or false")


# -- NetworkDriver --------------------------------------------------------------------------------


@dataclass(frozen=True)
class IPAMData:
    """One pool of a network as CreateNetwork carries it: Pool CIDR, Gateway and aux addresses
    (interfaces ``addr/len``; Gateway may be absent)."""

    address_space: str
    pool: ipaddress.IPv4Network | ipaddress.IPv6Network
    gateway: ipaddress.IPv4Interface | ipaddress.IPv6Interface | None
    aux_addresses: dict[str, ipaddress.IPv4Interface | ipaddress.IPv6Interface]

    @classmethod
    def parse(cls, item: object, key: str) -> IPAMData:
        if not isinstance(item, dict):
            raise PluginError(f"{key} entries must be objects")
        pool = parse_cidr(_str(item, "Pool", required=True), f"{key}.Pool")
        aux = {}
        for name, value in _map(item, "AuxAddresses").items():
            if not isinstance(value, str):
                raise PluginError(f"{key}.AuxAddresses.{name} must be a string")
            aux[str(name)] = _interface(value, f"{key}.AuxAddresses.{name}")
        return cls(_str(item, "AddressSpace"), pool, _interface(_str(item, "Gateway"), f"{key}.Gateway"), aux)


def _ipam_data(body: dict, key: str, version: int) -> list[IPAMData]:
    items = body.get(key) or []
    if not isinstance(items, list):
        raise PluginError(f"{key} must be a list")
    parsed = [IPAMData.parse(item, key) for item in items]
    for data in parsed:
        if data.pool.version != version:
            raise PluginError(f"{key} holds {data.pool}, which is not an IPv{version} network")
    return parsed


@dataclass(frozen=True)
class CreateNetworkRequest:
    """NetworkDriver.CreateNetwork: NetworkID, ``--opt`` map (``generic``), IPv4/IPv6 pools."""

    network_id: str
    generic: dict[str, str]
    enable_ipv6: bool
    internal: bool
    ipv4: list[IPAMData]
    ipv6: list[IPAMData]

    @classmethod
    def parse(cls, body: dict) -> CreateNetworkRequest:
        options = _map(body, "Options")
        generic = options.get(GENERIC) or {}
        if not isinstance(generic, dict):
            raise PluginError(f"Options.{GENERIC} must be an object")
        return cls(
            network_id=_docker_id(body, "NetworkID"),
            generic={str(k): str(v) for k, v in generic.items()},
            enable_ipv6=_bool(options.get(ENABLE_IPV6), ENABLE_IPV6),
            internal=_bool(options.get(INTERNAL), INTERNAL),
            ipv4=_ipam_data(body, "IPv4Data", 4),
            ipv6=_ipam_data(body, "IPv6Data", 6),
        )

    def mtu(self) -> int | None:
        """``--opt com.docker.network.driver.mtu`` in bytes, or None. Raises PluginError if bad."""
        raw = self.generic.get(DRIVER_MTU)
        if raw is None:
            return None
        if not raw.isdigit() or not 68 <= int(raw) <= 65535:
            raise PluginError(f"{DRIVER_MTU} must be a number of bytes between 68 and 65535, not {raw!r}")
        return int(raw)


@dataclass(frozen=True)
class NetworkRequest:
    """DeleteNetwork / FreeNetwork: just the NetworkID."""

    network_id: str

    @classmethod
    def parse(cls, body: dict) -> NetworkRequest:
        return cls(_docker_id(body, "NetworkID"))


@dataclass(frozen=True)
class EndpointRequest:
    """Leave, DeleteEndpoint, EndpointOperInfo, Program/RevokeExternalConnectivity: the two IDs."""

    network_id: str
    endpoint_id: str

    @classmethod
    def parse(cls, body: dict) -> EndpointRequest:
        return cls(_docker_id(body, "NetworkID"), _docker_id(body, "EndpointID"))


@dataclass(frozen=True)
class CreateEndpointRequest:
    """NetworkDriver.CreateEndpoint. ``address``/``address_ipv6`` are what IPAM assigned (or None),
    ``mac`` is Interface.MacAddress or the base64 ``--mac-address`` option ("" when neither)."""

    network_id: str
    endpoint_id: str
    address: ipaddress.IPv4Interface | None
    address_ipv6: ipaddress.IPv6Interface | None
    mac: str
    mac_given: bool  # dockerd filled MacAddress itself: we must not answer one

    @classmethod
    def parse(cls, body: dict) -> CreateEndpointRequest:
        iface = _map(body, "Interface")
        options = _map(body, "Options")
        address = _interface(_str(iface, "Address"), "Interface.Address")
        address6 = _interface(_str(iface, "AddressIPv6"), "Interface.AddressIPv6")
        if address is not None and address.version != 4:
            raise PluginError(f"Interface.Address {address} is not IPv4")
        if address6 is not None and address6.version != 6:
            raise PluginError(f"Interface.AddressIPv6 {address6} is not IPv6")
        mac = parse_mac(_str(iface, "MacAddress"), "Interface.MacAddress")
        option_mac = mac_from_base64(options[MAC_OPTION]) if options.get(MAC_OPTION) else ""
        if mac and option_mac and mac != option_mac:
            raise PluginError(f"Interface.MacAddress {mac} contradicts the --mac-address option {option_mac}")
        return cls(_docker_id(body, "NetworkID"), _docker_id(body, "EndpointID"), address, address6,
                   mac or option_mac, bool(mac))


@dataclass(frozen=True)
class JoinRequest:
    """NetworkDriver.Join: the IDs and the sandbox (netns path under dockerd's exec-root)."""

    network_id: str
    endpoint_id: str
    sandbox_key: str

    @classmethod
    def parse(cls, body: dict) -> JoinRequest:
        return cls(_docker_id(body, "NetworkID"), _docker_id(body, "EndpointID"), _str(body, "SandboxKey"))


@dataclass(frozen=True)
class StaticRoute:
    """One Join StaticRoutes entry: RouteType 0 = via ``next_hop``, 1 = connected."""

    destination: str
    next_hop: str

    def as_json(self) -> dict:
        if self.next_hop:
            return {"Destination": self.destination, "RouteType": 0, "NextHop": self.next_hop}
        return {"Destination": self.destination, "RouteType": 1}


@dataclass(frozen=True)
class JoinResponse:
    """What Join answers: the veth end dockerd moves (``src_name``, renamed ``eth<N>``), gateways
    (plain addresses, "" for none: internal networks) and static routes. DisableGatewayService is
    always true, so dockerd never adds a docker_gwbridge NIC (libnetwork.md pitfall 8)."""

    src_name: str
    gateway: str = ""
    gateway_ipv6: str = ""
    routes: list[StaticRoute] = field(default_factory=list)

    def as_json(self) -> dict:
        body: dict = {"InterfaceName": {"SrcName": self.src_name, "DstPrefix": "eth"},
                      "StaticRoutes": [r.as_json() for r in self.routes], "DisableGatewayService": True}
        if self.gateway:
            body["Gateway"] = self.gateway
        if self.gateway_ipv6:
            body["GatewayIPv6"] = self.gateway_ipv6
        return body


# -- IpamDriver -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class RequestPoolRequest:
    """IpamDriver.RequestPool: Pool/SubPool CIDRs (None: IPAM chooses), ``--ipam-opt`` map, V6."""

    address_space: str
    pool: ipaddress.IPv4Network | ipaddress.IPv6Network | None
    sub_pool: ipaddress.IPv4Network | ipaddress.IPv6Network | None
    options: dict[str, str]
    v6: bool

    @classmethod
    def parse(cls, body: dict) -> RequestPoolRequest:
        v6 = _bool(body.get("V6"), "V6")
        pool = parse_cidr(_str(body, "Pool"), "Pool")
        sub_pool = parse_cidr(_str(body, "SubPool"), "SubPool")
        version = 6 if v6 else 4
        for name, net in (("Pool", pool), ("SubPool", sub_pool)):
            if net is not None and net.version != version:
                raise PluginError(f"{name} {net} is not an IPv{version} network (V6 is {str(v6).lower()})")
        if sub_pool is not None and (pool is None or not sub_pool.subnet_of(pool)):
            raise PluginError(f"--ip-range {sub_pool} is not inside --subnet {pool}")
        options = {str(k): str(v) for k, v in _map(body, "Options").items()}
        return cls(_str(body, "AddressSpace"), pool, sub_pool, options, v6)


@dataclass(frozen=True)
class PoolRequest:
    """IpamDriver.ReleasePool: the PoolID we returned."""

    pool_id: str

    @classmethod
    def parse(cls, body: dict) -> PoolRequest:
        return cls(_str(body, "PoolID", required=True))


@dataclass(frozen=True)
class RequestAddressRequest:
    """IpamDriver.RequestAddress. ``kind`` is "gateway" (RequestAddressType option), "aux"
    (Options null, libnetwork.md pitfall 14) or "endpoint"; ``mac`` the colon MAC dockerd chose
    when we require one ("" otherwise)."""

    pool_id: str
    address: ipaddress.IPv4Address | ipaddress.IPv6Address | None
    kind: str
    mac: str

    @classmethod
    def parse(cls, body: dict) -> RequestAddressRequest:
        raw_options = body.get("Options")
        options = _map(body, "Options")
        if options.get(REQUEST_ADDRESS_TYPE) == GATEWAY_TYPE:
            kind = "gateway"
        elif raw_options is None:
            kind = "aux"
        else:
            kind = "endpoint"
        mac = options.get(MAC_OPTION) or ""
        if not isinstance(mac, str):
            raise PluginError(f"{MAC_OPTION} must be a string")
        return cls(_str(body, "PoolID", required=True), parse_ip(_str(body, "Address"), "Address"), kind,
                   parse_mac(mac, MAC_OPTION))


@dataclass(frozen=True)
class ReleaseAddressRequest:
    """IpamDriver.ReleaseAddress: PoolID and a plain address."""

    pool_id: str
    address: ipaddress.IPv4Address | ipaddress.IPv6Address

    @classmethod
    def parse(cls, body: dict) -> ReleaseAddressRequest:
        address = parse_ip(_str(body, "Address", required=True), "Address")
        return cls(_str(body, "PoolID", required=True), address)
