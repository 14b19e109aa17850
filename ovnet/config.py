"""The one settings object of ovnet, built from defaults, a settings file, the environment and flags.

It imports nothing of ovnet, so every layer may use it. Precedence, lowest first: the defaults
below, ``<state_dir>/settings.json`` (written by ``ovnet up`` so that later commands find the same
ports), ``OVNET_<FIELD>`` environment variables, explicit keyword arguments (CLI flags).
"""

from __future__ import annotations

import dataclasses
import hashlib
import ipaddress
import json
import os
import re
import socket
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

DEFAULT_STATE_DIR = Path("/var/lib/ovnet")
DEFAULT_CACHE_DIR = Path("/var/cache/ovnet")  # rebuildable artefacts shared by installations (VM image)
# The well-known files of a state directory, each named once here.
SETTINGS_FILE = "settings.json"
ADMIN_TOKEN_FILE = "admin-token"  # the installation's admin token (0600), written by ovnet-server
CLOUDS_FILE = "clouds.yaml"  # cloud "ovnet" for openstack --os-cloud (0600), written by ovnet-server
AGENT_SOCKET = "agent.sock"  # the host agent's HTTP socket, under run_dir
LOCAL_HOST = "127.0.0.1"  # where this machine's own clients reach its all-in-one services
# An OVSDB remote as OVN spells one (ovsdb-server(1) "Active Database Connection Methods").
_OVSDB_REMOTE = re.compile(r"^(?:(?:tcp|ssl):(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})|unix:/\S+)$")
DOCKER_PLUGINS_DIR = Path("/run/docker/plugins")  # where dockerd finds plugin sockets, whatever its --exec-root
GENEVE_OVERHEAD = 58  # bytes: outer IPv4 20 + UDP 8 + Geneve 8 + OVN option 8 + inner Ethernet 14
# What one machine runs (`ovnet up --role`): everything; OVN central + ovnet-server; or a chassis + agent.
ROLES = ("all-in-one", "central", "compute")
# Raft ports of clustered NB and SB between central members (OVN's ovn-ctl defaults).
NB_RAFT_PORT, SB_RAFT_PORT = 6643, 6644
DATAPATHS = ("auto", "system", "netdev")  # `ovnet up --datapath`: probe the kernel module, or force one
MAX_PORT = 65535  # TCP ports are 16-bit (RFC 9293 §3.1); 0 would let the kernel pick one nobody can find


def state_tag(state_dir: Path) -> str:
    """Four hex digits naming one installation, so two state dirs never share kernel names."""
    return hashlib.sha1(str(Path(state_dir).resolve()).encode()).hexdigest()[:4]


def public_namespace(state_dir: Path) -> str:
    """The public network's namespace of the installation in ``state_dir``: "ovnet-public" for
    the default state dir (the README's ``ip netns exec ovnet-public ping``), "ovnet-public-<tag>"
    for any other, since network namespace names are machine-wide."""
    if Path(state_dir).resolve() == DEFAULT_STATE_DIR.resolve():
        return "ovnet-public"
    return f"ovnet-public-{state_tag(state_dir)}"


class SettingsError(ValueError):
    """The settings file, an ``OVNET_*`` variable or a flag holds something unusable; the message
    names which and how to fix it."""


@dataclass(frozen=True)
class Settings:
    """Where an ovnet installation keeps its state and how its pieces reach each other.

    Serving and reaching are separate. ``listen_host`` and the ports say where the NB, SB and API
    servers started on *this* machine listen. ``nb_remotes``/``sb_remotes`` (OVSDB remotes such as
    ``tcp:10.0.0.1:6641``; several for a Raft cluster) and ``api_urls`` (such as
    ``http://10.0.0.1:9696``; several for several API servers) say where every client (syncer,
    ovn-controller's ``ovn-remote``, agents, CLI) reaches them; empty means this machine's own
    all-in-one on ``127.0.0.1`` at those ports, which is today's single-machine default. Use the
    ``nb_connection``/``sb_connection``/``api_endpoints`` properties, never the raw fields, to
    connect. ``underlay_mtu`` is in bytes. ``chassis_name`` is the OVN chassis (system-id) of this
    host; ``netns`` names a network namespace that this host's ovs-vswitchd runs in (None: the
    current one), which tests use to keep kernel names private. Raises SettingsError (one line)
    for a malformed remote or URL, an unknown role or an inconsistent cluster setting.
    """

    state_dir: Path = DEFAULT_STATE_DIR
    listen_host: str = "127.0.0.1"
    nb_port: int = 6641
    sb_port: int = 6642
    api_port: int = 9696
    nb_remotes: tuple[str, ...] = ()
    sb_remotes: tuple[str, ...] = ()
    api_urls: tuple[str, ...] = ()
    chassis_name: str = field(default_factory=socket.gethostname)
    bridge: str = "br-int"
    encap_ip: str = "127.0.0.1"
    netns: str | None = None
    datapath: str = "auto"  # "auto" | "system" | "netdev"
    underlay_mtu: int = 1500
    sync_interval: float = 60.0  # seconds between full NB reconciles
    bind_timeout: float = 30.0  # seconds a port may take to become ovn-installed
    agent_sync_interval: float = 5.0  # seconds between host-agent reconciles (workloads follow port changes)
    cni_grace_period: float = 60.0  # seconds a CNI port may stay unplugged before deletion (a vanished veth: none)
    # seconds a port Docker's IPAM request made may stay unclaimed by an endpoint (dockerd died
    # between RequestAddress and CreateEndpoint) before the agent deletes it
    docker_ipam_grace_period: float = 60.0
    mac_prefix: str = "fa:16:3e"  # leading octets of generated port MACs (Neutron's base_mac)
    docker_plugin: str = "ovnet"  # libnetwork plugin name: the agent serves /run/docker/plugins/<name>.sock
    docker_host: str = "unix:///run/docker.sock"  # the dockerd the agent asks which endpoints exist
    agent_metrics_port: int = 0  # TCP port (on listen_host) of the agent's /metrics besides its socket; 0: off
    # Each project's default quota (Neutron's quota_network, ...); -1: unlimited, ovnet's default, as
    # a project of containers easily holds thousands of ports. Per-project limits: /v2.0/quotas.
    quota_network: int = -1
    quota_subnet: int = -1
    quota_subnetpool: int = -1
    quota_port: int = -1
    quota_rbac_policy: int = -1
    quota_router: int = -1
    quota_floatingip: int = -1
    quota_security_group: int = -1
    quota_security_group_rule: int = -1
    cache_dir: Path = DEFAULT_CACHE_DIR
    # The machine-local public network (ovnet.runtime.public): every chassis maps
    # ``physical_network`` to its provider bridge; ``public_netns`` holds the bridge joining them and
    # the outside host with the first address of ``public_cidr``.
    # ``public_netns`` empty: "ovnet-public" for the default state dir, else "ovnet-public-<tag>"
    # (public_namespace), so two installations on one machine never share it.
    physical_network: str = "public"
    public_netns: str = ""
    public_cidr: str = "10.50.50.0/24"
    # What this machine runs (ROLES). A central with ``cluster_size`` 3 (or 5) runs NB and SB as OVSDB
    # Raft clusters: all members on this machine, each in a network namespace of its own (a test
    # bed), unless ``cluster_member`` N (1-based) names this machine as member N of the machines
    # whose addresses ``cluster_remotes`` lists (IP addresses or host names, in member order).
    role: str = "all-in-one"
    # SQLAlchemy URL of the model store that several ovnet-servers share (``postgresql://...``,
    # ``--sql-url``); empty: SQLite in the state dir (one server). See ``sql_url``.
    sql_store: str = ""
    cluster_size: int = 1
    cluster_member: int = 0
    cluster_remotes: tuple[str, ...] = ()
    # BFD between chassis (OVN NB_Global options bfd-min-rx/bfd-min-tx, ms; detection takes 3x):
    # how fast a dead gateway chassis is noticed. 0 leaves OVN's default (1000 ms).
    bfd_interval_ms: int = 300
    # Neutron's ovn enable_distributed_floating_ip (default off, as there): a floating IP's NAT
    # is done on the chassis of its port, when that chassis has the external network's physical
    # network, instead of on the router's gateway chassis.
    enable_distributed_floating_ip: bool = False

    def __post_init__(self) -> None:
        _check_types(self)
        for name in ("nb_remotes", "sb_remotes", "api_urls"):
            value = getattr(self, name)
            if isinstance(value, str):  # "a,b" from a file or a flag, as OVN writes remote lists
                value = _split(value)
            object.__setattr__(self, name, tuple(value))
        for remote in (*self.nb_remotes, *self.sb_remotes):
            _check_remote(remote)
        for url in self.api_urls:
            _check_api_url(url)
        if not self.public_netns:
            object.__setattr__(self, "public_netns", public_namespace(self.state_dir))
        if isinstance(self.cluster_remotes, str):
            object.__setattr__(self, "cluster_remotes", _split(self.cluster_remotes))
        object.__setattr__(self, "cluster_remotes", tuple(self.cluster_remotes))
        _check_cluster(self)
        _check_wiring(self)

    # -- derived paths -------------------------------------------------------------------------
    @property
    def run_dir(self) -> Path:
        return self.state_dir / "run"

    @property
    def ovs_rundir(self) -> Path:
        return self.run_dir / "ovs"

    @property
    def ovn_rundir(self) -> Path:
        return self.run_dir / "ovn"

    @property
    def log_dir(self) -> Path:
        return self.state_dir / "log"

    @property
    def db_dir(self) -> Path:
        return self.state_dir / "db"

    @property
    def nb_connection(self) -> str:
        """OVSDB connection string of the northbound DB as OVN takes it: ``nb_remotes`` joined by
        commas (``tcp:10.0.0.1:6641,tcp:10.0.0.2:6641`` for a Raft cluster), by default
        ``tcp:127.0.0.1:<nb_port>``."""
        return ",".join(self.nb_remotes or (f"tcp:{LOCAL_HOST}:{self.nb_port}",))

    @property
    def sb_connection(self) -> str:
        """OVSDB connection string of the southbound DB (see ``nb_connection``); what
        ovn-controller gets as ``external_ids:ovn-remote``."""
        return ",".join(self.sb_remotes or (f"tcp:{LOCAL_HOST}:{self.sb_port}",))

    @property
    def docker_plugin_socket(self) -> Path:
        """The unix socket the agent serves the Docker plugin on: ``/run/docker/plugins/<docker_plugin>.sock``."""
        return DOCKER_PLUGINS_DIR / f"{self.docker_plugin}.sock"

    @property
    def ovs_db_sock(self) -> Path:
        return self.ovs_rundir / "db.sock"

    @property
    def api_endpoints(self) -> tuple[str, ...]:
        """Base URLs of the API servers, in the order clients try them: ``api_urls``, by default
        ``("http://127.0.0.1:<api_port>",)``."""
        return self.api_urls or (f"http://{LOCAL_HOST}:{self.api_port}",)

    @property
    def api_url(self) -> str:
        """The first of ``api_endpoints``: for what takes one URL (a clouds.yaml entry)."""
        return self.api_endpoints[0]

    @property
    def agent_socket(self) -> Path:
        """The unix socket the host agent serves HTTP on: ``<run_dir>/agent.sock``."""
        return self.run_dir / AGENT_SOCKET

    @property
    def admin_token_file(self) -> Path:
        """``<state_dir>/admin-token``: the installation's admin token, written by ovnet-server."""
        return self.state_dir / ADMIN_TOKEN_FILE

    @property
    def sql_url(self) -> str:
        """SQLAlchemy URL of the model store: ``OVNET_SQL_URL``, else ``sql_store``, else SQLite in
        the state dir."""
        return os.environ.get("OVNET_SQL_URL") or self.sql_store or f"sqlite:///{self.state_dir / 'ovnet.db'}"

    @property
    def network_mtu(self) -> int:
        """Default MTU of a network in bytes: the underlay MTU less the Geneve overhead."""
        return self.underlay_mtu - GENEVE_OVERHEAD

    # -- persistence ---------------------------------------------------------------------------
    def as_json(self) -> dict[str, object]:
        """These settings as settings.json holds them: paths as strings, tuples as lists."""
        return {k: (str(v) if isinstance(v, Path) else list(v) if isinstance(v, tuple) else v)
                for k, v in dataclasses.asdict(self).items()}

    def save(self) -> Path:
        """Write these settings to ``<state_dir>/settings.json`` (mode 0600); return its path."""
        self.state_dir.mkdir(parents=True, exist_ok=True)
        path = self.state_dir / SETTINGS_FILE
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.as_json(), indent=2) + "\n")
        tmp.chmod(0o600)
        tmp.replace(path)
        return path


def _coerce(name: str, raw: str) -> object:
    kind = {f.name: f.type for f in dataclasses.fields(Settings)}[name]
    if kind == "int":
        return int(raw)
    if kind == "float":
        return float(raw)
    if kind == "bool":
        if raw.lower() in ("1", "true", "yes", "on"):
            return True
        if raw.lower() in ("0", "false", "no", "off"):
            return False
        raise ValueError(f"{name}={raw!r} is not a boolean (true or false)")
    if kind == "Path":
        return Path(raw)
    if kind == "str | None":
        return raw or None
    if kind == "tuple[str, ...]":
        return _split(raw)
    return raw


def _split(raw: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in raw.split(",") if part.strip())


# The Python types a field of each annotation may hold; a list stands for a tuple (JSON has none) and
# a str for a Path (JSON has none either; both are converted in __post_init__ and _check_types).
_TYPES: dict[str, tuple[type, ...]] = {
    "int": (int,), "float": (int, float), "bool": (bool,), "str": (str,), "Path": (str, Path),
    "str | None": (str, type(None)), "tuple[str, ...]": (str, list, tuple),
}


def _check_types(settings: Settings) -> None:
    """Raise SettingsError naming the first field whose value has the wrong type (a hand-edited
    settings.json: ``"api_port": "x"`` is coerced, but ``true``, ``1.5`` or ``null`` would pass the
    dataclass and crash a later command); turn a str Path into a Path."""
    for f in dataclasses.fields(Settings):
        value = getattr(settings, f.name)
        bad_bool = isinstance(value, bool) and f.type in ("int", "float")  # bool is an int subclass
        if bad_bool or not isinstance(value, _TYPES[f.type]) or (
                isinstance(value, (list, tuple)) and not all(isinstance(v, str) for v in value)):
            raise SettingsError(f"bad setting {f.name}={value!r}: want {_KIND_NAMES[f.type]} "
                                f"(settings.json, OVNET_{f.name.upper()} or its flag)")
        if f.type == "Path":
            object.__setattr__(settings, f.name, Path(value))


_KIND_NAMES = {"int": "a whole number", "float": "a number", "bool": "true or false", "str": "a string",
               "Path": "a path", "str | None": "a string", "tuple[str, ...]": "a list of strings"}


def _check_wiring(settings: Settings) -> None:
    """Raise SettingsError for a port outside 1-65535 (``agent_metrics_port``: 0 is off), a datapath
    not in DATAPATHS, a ``listen_host`` or ``encap_ip`` that is not an IP address (ovsdb-server's
    ``ptcp:PORT:IP`` and OVN's ``ovn-encap-ip`` take addresses only), two servers on one port or an
    empty chassis name."""
    for name in ("nb_port", "sb_port", "api_port", "agent_metrics_port"):
        port, low = getattr(settings, name), 0 if name == "agent_metrics_port" else 1
        if not low <= port <= MAX_PORT:
            raise SettingsError(f"bad {name.replace('_', '-')} {port}: use a TCP port from {low} to {MAX_PORT} "
                                f"(--{name.replace('_', '-')}, OVNET_{name.upper()})")
    taken: dict[int, str] = {}
    for name in ("nb_port", "sb_port", "api_port", "agent_metrics_port"):  # all served on listen_host
        port, flag = getattr(settings, name), f"--{name.replace('_', '-')}"
        if port and port in taken:
            raise SettingsError(f"{flag} {port} is also {taken[port]}: give each server a port of its own")
        taken[port] = flag
    if settings.datapath not in DATAPATHS:
        raise SettingsError(f"bad datapath {settings.datapath!r}: use one of {', '.join(DATAPATHS)} "
                            f"(--datapath, OVNET_DATAPATH)")
    for name in ("listen_host", "encap_ip"):
        try:
            ipaddress.ip_address(getattr(settings, name))
        except ValueError:
            raise SettingsError(f"bad {name.replace('_', '-')} {getattr(settings, name)!r}: use an IP address "
                                f"(--{name.replace('_', '-')}, OVNET_{name.upper()})") from None
    if not settings.chassis_name.strip():
        raise SettingsError("the chassis name is empty: give --chassis-name or leave it to the host name")


def _check_remote(remote: str) -> None:
    match = _OVSDB_REMOTE.match(remote)
    if not match or (match.group(1) is not None and not 0 < int(match.group(1)) < 65536):
        raise SettingsError(f"bad OVSDB remote {remote!r}: use tcp:IP:PORT, ssl:IP:PORT or unix:PATH, "
                            f"comma-separated for a cluster (nb_remotes/sb_remotes, OVNET_NB_REMOTES/OVNET_SB_REMOTES)")


def _check_api_url(url: str) -> None:
    try:
        parts = urlsplit(url)
        port_ok = parts.port is None or 0 < parts.port < 65536
    except ValueError:
        port_ok = False
        parts = None
    if not (parts and port_ok and parts.scheme in ("http", "https") and parts.hostname):
        raise SettingsError(f"bad API URL {url!r}: use http://HOST:PORT (api_urls, OVNET_API_URLS, "
                            f"comma-separated for several servers)")


def _check_cluster(settings: Settings) -> None:
    if settings.role not in ROLES:
        raise SettingsError(f"bad role {settings.role!r}: use one of {', '.join(ROLES)} (--role, OVNET_ROLE)")
    size, member, remotes = settings.cluster_size, settings.cluster_member, settings.cluster_remotes
    if size not in (1, 3, 5):
        raise SettingsError(f"bad cluster size {size}: use 1 (standalone NB/SB), 3 or 5 (--cluster-size)")
    if member and (len(remotes) != size or not 1 <= member <= size):
        raise SettingsError(f"--cluster-member {member} needs --cluster-remotes with one address per member "
                            f"({size} for --cluster-size {size}), this machine's at position {member}")
    if size > 1 and settings.role == "compute":
        raise SettingsError("--cluster-size is for --role central (or all-in-one); a compute takes the "
                            "cluster's remotes (--nb/--sb or --central)")


def central_remotes(address: str, nb_port: int = 6641, sb_port: int = 6642,
                    api_port: int = 9696) -> dict[str, tuple[str, ...]]:
    """The remotes a compute host uses for a central at ``address`` (``--central ADDR``; several
    comma-separated for a cluster): ``{"nb_remotes", "sb_remotes", "api_urls"}``, each with one
    entry per address (``tcp:ADDR:6641``, ``tcp:ADDR:6642``, ``http://ADDR:9696``). Raises
    SettingsError for a malformed address."""
    hosts = _split(address)
    if not hosts:
        raise SettingsError("--central needs an address (IP or host name of the central machine)")
    bracket = [f"[{h}]" if ":" in h else h for h in hosts]
    remotes = {"nb_remotes": tuple(f"tcp:{h}:{nb_port}" for h in bracket),
               "sb_remotes": tuple(f"tcp:{h}:{sb_port}" for h in bracket),
               "api_urls": tuple(f"http://{h}:{api_port}" for h in bracket)}
    for remote in remotes["nb_remotes"] + remotes["sb_remotes"]:
        _check_remote(remote)
    for url in remotes["api_urls"]:
        _check_api_url(url)
    return remotes


def load_settings(state_dir: Path | str | None = None, **overrides: object) -> Settings:
    """Build Settings from defaults < settings file < ``OVNET_*`` environment < ``overrides``.

    ``state_dir`` defaults to ``OVNET_STATE_DIR`` or /var/lib/ovnet. Overrides whose value is None
    are ignored, so CLI flags can be passed through unconditionally. Raises SettingsError on an
    unreadable settings file, an unknown field or a value of the wrong type.
    """
    state = Path(state_dir or os.environ.get("OVNET_STATE_DIR") or DEFAULT_STATE_DIR)
    names = {f.name for f in dataclasses.fields(Settings)}
    values: dict[str, object] = {}
    path = state / SETTINGS_FILE
    if path.exists():
        try:
            loaded = json.loads(path.read_text())
        except ValueError as exc:
            raise SettingsError(f"{path} is not valid JSON ({exc}): fix it, or delete it to use the defaults")
        if not isinstance(loaded, dict):
            raise SettingsError(f"{path} must hold a JSON object: fix it, or delete it to use the defaults")
        values.update(loaded)
    for name in names - {"state_dir"}:
        env = os.environ.get(f"OVNET_{name.upper()}")
        if env is not None:
            values[name] = env
    values.update({k: v for k, v in overrides.items() if v is not None})
    unknown = set(values) - names
    if unknown:
        raise SettingsError(f"unknown setting(s): {', '.join(sorted(unknown))} (in {path} or OVNET_*)")
    for name, value in values.items():
        try:
            values[name] = _coerce(name, value) if isinstance(value, str) else value
        except ValueError as exc:
            raise SettingsError(f"bad setting {name}={value!r} ({exc}); check {path} and OVNET_{name.upper()}") from None
    values["state_dir"] = state
    try:
        return Settings(**values)
    except TypeError as exc:  # e.g. a number where a list of remotes belongs
        raise SettingsError(f"bad setting value ({exc}); check {path} and OVNET_* variables") from None
