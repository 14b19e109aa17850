"""The CNI protocol as the agent sees it: requests in, Results and error objects out. Pure: no I/O.

A request is what ``ovnet-cni`` forwards: ``{"env": {CNI_*}, "config": <request JSON>}`` (CNI spec
1.1.0 "Parameters" and "Network configuration"). Results are built in the 1.1.0 shape and converted
to the version the request asked for (cni.md A.1): 1.0.0 drops the 1.1 fields (interface ``mtu``,
route ``mtu``/``advmss``/``priority``/``table``/``scope``), 0.4.0 also puts ``version`` on each ip.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field

from ovnet.host.attachment import check_ifname
from ovnet.host.errors import BadRequest

SUPPORTED_VERSIONS = ("0.4.0", "1.0.0", "1.1.0")

# Error codes (CNI spec 1.1.0 "Error codes"; 100 and up are ovnet's own).
ERR_INCOMPATIBLE = 1
ERR_UNSUPPORTED_FIELD = 2
ERR_UNKNOWN_CONTAINER = 3
ERR_ENV = 4
ERR_DECODE = 6
ERR_CONFIG = 7
ERR_TRY_LATER = 11
ERR_UNAVAILABLE = 50
ERR_REFUSED = 100  # the ovnet API refused the port (address taken, outside the subnet, ...)
ERR_DRIFT = 101  # CHECK: the port, the veth or its addresses differ from what ADD made

DEVICE_OWNER = "compute:cni"
# A ready port of the agent's pool (ovnet.host.cni.pool), no workload's yet. ``compute:``, not
# ``network:``: a network: port gets no security groups, and taking it only rewrites the owner.
# Its network's deletion deletes it (ovnet.model.networks.AUTO_DELETED_OWNERS).
POOL_DEVICE_OWNER = "compute:cni-pool"
IFNAME_TAG = "cni.ifname:"  # + CNI_IFNAME: with device_id = CNI_CONTAINERID, the attachment key
HOST_TAG = "cni.host:"  # + the chassis that made the port: its agent's sweep owns leftovers
NETWORK_TAG = "cni.net:"  # + the CNI network name: GC touches only its own network's ports
POOL_MAX = 64  # ready ports per CNI network and interface name: each holds an address
TAG_MAX = 60  # Neutron tags are at most 60 characters

_CONTAINER_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")  # CNI spec "Parameters"
_ARGS_PAIR = re.compile(r"^[A-Za-z0-9_]+=.*$")


class CniError(Exception):
    """A CNI error object: ``code`` (CNI spec table, or ovnet's 100+), ``msg``, ``details``;
    ``unauthorized`` when the API refused the caller's token (the agent answers it with HTTP 401,
    as every other route of its socket does; the plugin reads the object whatever the status)."""

    def __init__(self, code: int, msg: str, details: str = "", unauthorized: bool = False):
        super().__init__(msg)
        self.code, self.msg, self.details, self.unauthorized = code, msg, details, unauthorized

    def body(self, version: str) -> dict:
        """The error object as the runtime reads it."""
        error = {"cniVersion": version, "code": self.code, "msg": self.msg}
        if self.details:
            error["details"] = self.details
        return error


def tag(prefix: str, value: str) -> str:
    """``prefix + value`` cut to Neutron's 60-character tag limit."""
    return (prefix + value)[:TAG_MAX]


@dataclass(frozen=True)
class Attachment:
    """What a runtime asks of ovnet for one CNI call, validated.

    ``network`` and ``project`` name the ovnet network (name or id) and its project (name or id, or
    None); ``name`` is the CNI network name; ``ips`` the static addresses asked for (IP strings,
    from runtimeConfig ``ips`` or CNI_ARGS ``IP=``), ``mac`` a static MAC or None; ``valid`` the
    (container id, ifname) pairs GC must keep; ``prev_result`` the cached ADD Result or None;
    ``pool_size`` how many ready ports the agent keeps for ADDs like this one (the configuration's
    ``pool_size``, 0: none; ovnet.host.cni.pool).
    """

    verb: str
    version: str
    name: str
    network: str
    project: str | None
    container_id: str = ""
    netns: str = ""
    ifname: str = ""
    ips: tuple[str, ...] = ()
    mac: str | None = None
    valid: frozenset[tuple[str, str]] = field(default_factory=frozenset)
    prev_result: dict | None = None
    pool_size: int = 0


def parse_cni_args(raw: str) -> dict[str, str]:
    """CNI_ARGS ``K=V;K2=V2`` as a dict (CNI spec "Parameters"). Pairs without ``=`` are an error
    (code 4); unknown keys are kept, podman always adds some (cni.md B.2)."""
    args: dict[str, str] = {}
    for pair in filter(None, (raw or "").split(";")):
        if not _ARGS_PAIR.match(pair):
            raise CniError(ERR_ENV, f"CNI_ARGS holds {pair!r}, not KEY=VALUE")
        key, _, value = pair.partition("=")
        args[key] = value
    return args


def _need(env: dict, key: str, verb: str) -> str:
    value = env.get(key) or ""
    if not value:
        raise CniError(ERR_ENV, f"{key} is required for {verb} and is missing or empty")
    return value


def _static_ips(runtime: dict, args: dict[str, str]) -> tuple[str, ...]:
    # podman sends one static IP as CNI_ARGS IP=, several as runtimeConfig ips (cni.md B.4 pitfall 4).
    raw = list(runtime.get("ips") or []) + [a for a in args.get("IP", "").split(",") if a]
    ips: list[str] = []
    for value in raw:
        try:
            ip = str(ipaddress.ip_interface(str(value)).ip)
        except ValueError:
            raise CniError(ERR_CONFIG, f"static IP {value!r} is not an IP address") from None
        if ip not in ips:
            ips.append(ip)
    return tuple(ips)


def _static_mac(runtime: dict, args: dict[str, str]) -> str | None:
    mac = runtime.get("mac") or args.get("MAC") or None
    if mac is not None and not re.fullmatch(r"[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5}", str(mac)):
        raise CniError(ERR_CONFIG, f"static MAC {mac!r} is not a MAC address")
    return str(mac).lower() if mac else None


def _valid_attachments(config: dict) -> frozenset[tuple[str, str]]:
    # libcni >= 1.2 sends both keys; the older name came first (cni PR #1103, cni.md A.1).
    key = "cni.dev/valid-attachments" if "cni.dev/valid-attachments" in config else "cni.dev/attachments"
    entries = config.get(key)
    if not isinstance(entries, list):
        raise CniError(ERR_CONFIG, "GC needs the list cni.dev/valid-attachments in the configuration")
    try:
        return frozenset((str(e["containerID"]), str(e["ifname"])) for e in entries)
    except (KeyError, TypeError):
        raise CniError(ERR_CONFIG, f"{key} entries must be {{\"containerID\", \"ifname\"}}") from None


def parse_request(verb: str, env: dict, config: dict) -> Attachment:
    """Validate one forwarded request. Raises CniError: 1 for a version ovnet does not speak or a
    verb that version lacks, 4 for missing or bad CNI_* variables, 7 for a bad configuration."""
    if not isinstance(config, dict) or not isinstance(env, dict):
        raise CniError(ERR_DECODE, "the request needs the objects env and config")
    version = str(config.get("cniVersion") or "")
    if version not in SUPPORTED_VERSIONS:
        raise CniError(ERR_INCOMPATIBLE, f"cniVersion {version!r} is not supported",
                       f"supported: {', '.join(SUPPORTED_VERSIONS)}")
    if verb in ("STATUS", "GC") and version != "1.1.0":
        raise CniError(ERR_INCOMPATIBLE, f"{verb} exists from cniVersion 1.1.0 on; the configuration says {version}")
    name = config.get("name")
    if not name or not isinstance(name, str):
        raise CniError(ERR_CONFIG, "the network configuration has no name")
    network = config.get("network") or name
    project = config.get("project") or None
    if not isinstance(network, str) or (project is not None and not isinstance(project, str)):
        raise CniError(ERR_CONFIG, "network and project must be strings (a name or an id)")
    common = dict(verb=verb, version=version, name=name, network=network, project=project)
    if verb == "GC":
        return Attachment(**common, valid=_valid_attachments(config))
    if verb == "STATUS":
        return Attachment(**common)
    container_id = _need(env, "CNI_CONTAINERID", verb)
    if not _CONTAINER_ID.match(container_id):
        raise CniError(ERR_ENV, f"CNI_CONTAINERID {container_id!r} must start with a letter or digit, "
                                "then letters, digits, '_', '.', '-'")
    ifname = _need(env, "CNI_IFNAME", verb)
    if verb in ("ADD", "CHECK"):  # DEL stays lenient: a name ADD refused has nothing to remove
        try:
            check_ifname(ifname)
        except BadRequest as exc:
            raise CniError(ERR_ENV, f"CNI_IFNAME: {exc.message}") from None
    netns = env.get("CNI_NETNS") or ""
    if verb in ("ADD", "CHECK"):
        netns = _need(env, "CNI_NETNS", verb)
    runtime = config.get("runtimeConfig") or {}
    if not isinstance(runtime, dict):
        raise CniError(ERR_CONFIG, "runtimeConfig must be an object")
    args = parse_cni_args(env.get("CNI_ARGS", ""))
    prev = config.get("prevResult")
    pool_size = config.get("pool_size", 0)
    if type(pool_size) is not int or not 0 <= pool_size <= POOL_MAX:
        raise CniError(ERR_CONFIG, f"pool_size must be a whole number from 0 to {POOL_MAX}")
    return Attachment(**common, container_id=container_id, netns=netns, ifname=ifname,
                      ips=_static_ips(runtime, args), mac=_static_mac(runtime, args),
                      prev_result=prev if isinstance(prev, dict) else None, pool_size=pool_size)


def build_result(ifname: str, netns: str, port: dict, network: dict, subnets: list[dict]) -> dict:
    """The 1.1.0 Result of a plugged port (Neutron JSON in, see ovnet.host.addressing): the
    container interface (with ``sandbox`` and ``mtu``), its fixed IPs with prefix and gateway, the
    default route per IP family with a gateway and the subnets' host routes, and the subnets' DNS
    servers. These are exactly what ovnet.host.addressing.configure sets in the namespace."""
    by_id = {s["id"]: s for s in subnets}
    interface = {"name": ifname, "mac": port["mac_address"], "sandbox": netns}
    if network.get("mtu"):
        interface["mtu"] = int(network["mtu"])
    ips, routes, nameservers, defaults = [], [], [], set()
    for fixed in port.get("fixed_ips", []):
        subnet = by_id.get(fixed["subnet_id"])
        if subnet is None:
            continue
        cidr = ipaddress.ip_network(subnet["cidr"])
        entry = {"address": f"{fixed['ip_address']}/{cidr.prefixlen}", "interface": 0}
        if subnet.get("gateway_ip"):
            entry["gateway"] = subnet["gateway_ip"]
            if cidr.version not in defaults:
                defaults.add(cidr.version)
                routes.append({"dst": "0.0.0.0/0" if cidr.version == 4 else "::/0", "gw": subnet["gateway_ip"]})
        ips.append(entry)
        routes += [{"dst": r["destination"], "gw": r["nexthop"]} for r in subnet.get("host_routes") or []]
        nameservers += [d for d in subnet.get("dns_nameservers") or [] if d not in nameservers]
    result = {"cniVersion": "1.1.0", "interfaces": [interface], "ips": ips, "routes": routes}
    result["dns"] = {"nameservers": nameservers} if nameservers else {}
    return result


_ROUTE_1_1 = ("mtu", "advmss", "priority", "table", "scope")
_INTERFACE_1_1 = ("mtu", "socketPath", "pciID")


def convert_result(result: dict, version: str) -> dict:
    """``result`` (1.1.0 shape) in ``version`` (one of SUPPORTED_VERSIONS); a new dict (cni.md A.1)."""
    out = {**result, "cniVersion": version}
    if version == "1.1.0":
        return out
    out["interfaces"] = [{k: v for k, v in i.items() if k not in _INTERFACE_1_1} for i in result.get("interfaces", [])]
    out["routes"] = [{k: v for k, v in r.items() if k not in _ROUTE_1_1} for r in result.get("routes", [])]
    if version == "0.4.0":
        out["ips"] = [{**ip, "version": str(ipaddress.ip_interface(ip["address"]).version)}
                      for ip in result.get("ips", [])]
    return out
