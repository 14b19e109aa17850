"""NB and SB as OVSDB Raft clusters, and ovn-northd on every central member.

OVN's own clustering, nothing of ovnet's: each member runs a clustered NB ovsdb-server, a clustered
SB ovsdb-server and an ovn-northd; the first member creates each cluster (``ovsdb-tool
create-cluster``), the others join it (``ovsdb-tool join-cluster``); the northds share OVN's
active/standby lock; clients follow the leader themselves (python-ovs and ovn-nbctl are
leader-only by default, ovn-controller reads any member).

Two layouts, one set of services per member:

- real machines (``cluster_member`` N of ``cluster_remotes``): this machine is member N; its
  servers listen on its address (Raft on 6643/6644, clients on ``nb_port``/``sb_port``), its
  files are the usual ones under the state dir;
- one machine (``cluster_size`` 3 or 5, no member given): member n lives under
  ``<state_dir>/cluster/c<n>`` and in a network namespace of its own, ``ovnet-c<n>-<tag>``, with the
  address 100.65.0.n on a private segment (a Linux bridge in ``ovnet-cs-<tag>``), as separate
  machines would be. Clients on this machine reach the members through their unix sockets
  (``member_sockets``), which cross namespaces.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from pathlib import Path

from pyroute2 import IPRoute

from ovnet.config import NB_RAFT_PORT, SB_RAFT_PORT, Settings
from ovnet.runtime import owned
from ovnet.runtime.central import OVN_SCHEMA_DIR
from ovnet.runtime.daemon import Service
from ovnet.runtime.process import run
from ovnet.runtime.underlay import tag

CLUSTER_DIR = "cluster"
SEGMENT_NET = ipaddress.ip_network("100.65.0.0/24")  # RFC 6598 space, next to the underlay's 100.64.0.0/24
SEGMENT_BRIDGE = "cs"
# (short name, OVSDB database, schema file, Raft port, client port attribute of Settings)
DATABASES = (("nb", "OVN_Northbound", "ovn-nb.ovsschema", NB_RAFT_PORT, "nb_port"),
             ("sb", "OVN_Southbound", "ovn-sb.ovsschema", SB_RAFT_PORT, "sb_port"))


@dataclass(frozen=True)
class Member:
    """One central member: number ``index`` (1-based) of ``addresses`` (every member's address,
    in member order), its files under ``root``, its namespace (None: this machine's own), and the
    prefix of its service names ("" on a real machine, "c2/" for member 2 on one machine)."""

    index: int
    addresses: tuple[str, ...]
    root: Path
    netns: str | None
    prefix: str
    nb_port: int
    sb_port: int

    @property
    def address(self) -> str:
        return self.addresses[self.index - 1]

    @property
    def rundir(self) -> Path:
        return self.root / "run" / "ovn"

    @property
    def log_dir(self) -> Path:
        return self.root / "log"

    def sock(self, db: str) -> Path:
        """The unix socket of this member's ``db`` ("nb" or "sb") server."""
        return self.rundir / f"ovn{db}_db.sock"

    def ctl(self, name: str) -> Path:
        return self.rundir / f"{name}.ctl"


def clustered(settings: Settings) -> bool:
    """True when ``settings`` ask for NB and SB as Raft clusters."""
    return settings.cluster_size > 1


def segment_netns(settings: Settings) -> str:
    return f"ovnet-cs-{tag(settings.state_dir)}"


def members(settings: Settings) -> list[Member]:
    """The members this machine runs: one (``cluster_member``) or all ``cluster_size`` of them."""
    if settings.cluster_member:
        return [Member(settings.cluster_member, settings.cluster_remotes, settings.state_dir, None, "",
                       settings.nb_port, settings.sb_port)]
    addresses = tuple(str(SEGMENT_NET[n]) for n in range(1, settings.cluster_size + 1))
    mark = tag(settings.state_dir)
    return [Member(n, addresses, settings.state_dir / CLUSTER_DIR / f"c{n}", f"ovnet-c{n}-{mark}", f"c{n}/",
                   settings.nb_port, settings.sb_port) for n in range(1, settings.cluster_size + 1)]


def member_sockets(settings: Settings, db: str) -> tuple[str, ...]:
    """OVSDB remotes of every local member's ``db`` ("nb" or "sb") server as unix sockets: how
    clients on this machine reach a one-machine cluster (a unix socket crosses namespaces)."""
    return tuple(f"unix:{m.sock(db)}" for m in members(settings))


def _tcp(addresses: tuple[str, ...], port: int) -> str:
    return ",".join(f"tcp:{a}:{port}" for a in addresses)


def ensure_clustered_db(member: Member, db: str) -> None:
    """Create member's ``db`` file unless present: ``ovsdb-tool create-cluster`` on member 1,
    ``join-cluster`` (naming every other member's Raft address) on the others. A joining member
    becomes a voter once the cluster's leader has added it, after its server starts."""
    _, name, schema, raft, _ = next(d for d in DATABASES if d[0] == db)
    path = member.root / "db" / f"ovn{db}_db.db"
    if path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    local = f"tcp:{member.address}:{raft}"
    if member.index == 1:
        run(["ovsdb-tool", "create-cluster", str(path), str(OVN_SCHEMA_DIR / schema), local])
    else:
        others = [f"tcp:{a}:{raft}" for i, a in enumerate(member.addresses, 1) if i != member.index]
        run(["ovsdb-tool", "join-cluster", str(path), name, local, *others])


def cluster_status(member: Member, db: str) -> str:
    """``cluster/status`` of member's ``db`` server (the text ovs-appctl prints). Raises
    RuntimeFailure when the server does not answer."""
    name = next(d[1] for d in DATABASES if d[0] == db)
    return run(["ovs-appctl", "-t", str(member.ctl(f"ovsdb-{db}")), "cluster/status", name], timeout=5)


def is_leader(member: Member, db: str) -> bool:
    """True when member's ``db`` server is its cluster's leader right now."""
    return "Role: leader" in cluster_status(member, db)


def _db_service(settings: Settings, member: Member, db: str) -> Service:
    _, name, _, _, port_attr = next(d for d in DATABASES if d[0] == db)
    port = getattr(member, port_attr)
    svc = f"ovsdb-{db}"
    listen = member.address if member.netns else settings.listen_host
    ns = ["nsenter", f"--net=/run/netns/{member.netns}"] if member.netns else []

    def probe() -> str | None:
        status = cluster_status(member, db)
        return None if "Status: cluster member" in status else f"{name} not yet a cluster member"

    def before() -> None:
        if member.netns:
            ensure_member_netns(settings, member)
        ensure_clustered_db(member, db)

    return Service(
        name=member.prefix + svc,
        argv=ns + ["ovsdb-server", str(member.root / "db" / f"ovn{db}_db.db"), f"--remote=punix:{member.sock(db)}",
                   f"--remote=ptcp:{port}:{listen}", f"--pidfile={member.rundir / (svc + '.pid')}",
                   f"--log-file={member.log_dir / (svc + '.log')}", f"--unixctl={member.ctl(svc)}",
                   "--detach", "--no-chdir"],
        pidfile=member.rundir / f"{svc}.pid",
        log=member.log_dir / f"{svc}.log",
        endpoint=f"tcp:{listen}:{port} (raft tcp:{member.address}:{NB_RAFT_PORT if db == 'nb' else SB_RAFT_PORT})",
        health=probe,
        # Members on one machine listen in their own namespaces: nothing to check in this one.
        ports=[] if member.netns else [(port, f"OVN {db.upper()} DB (--{db}-port)")],
        before=before,
    )


def _northd(member: Member) -> Service:
    ctl = member.ctl("ovn-northd")
    ns = ["nsenter", f"--net=/run/netns/{member.netns}"] if member.netns else []

    def probe() -> str | None:
        out = run(["ovn-appctl", "-t", str(ctl), "status"], timeout=3)
        # One northd holds OVN's lock ("active"); the others wait as "standby": both are healthy.
        return None if "active" in out or "standby" in out else out.strip()

    return Service(
        name=member.prefix + "ovn-northd",
        argv=ns + ["ovn-northd", f"--ovnnb-db={_tcp(member.addresses, member.nb_port)}",
                   f"--ovnsb-db={_tcp(member.addresses, member.sb_port)}",
                   f"--pidfile={member.rundir / 'ovn-northd.pid'}", f"--log-file={member.log_dir / 'ovn-northd.log'}",
                   f"--unixctl={ctl}", "--detach", "--no-chdir"],
        pidfile=member.rundir / "ovn-northd.pid",
        log=member.log_dir / "ovn-northd.log",
        endpoint=str(ctl),
        health=probe,
    )


def member_services(settings: Settings, member: Member) -> list[Service]:
    """The NB server, SB server and ovn-northd of ``member``, in start order."""
    return [_db_service(settings, member, "nb"), _db_service(settings, member, "sb"), _northd(member)]


def cluster_services(settings: Settings) -> list[Service]:
    """Every clustered central service this machine runs, in start order: each member's NB and SB
    servers (member 1 first: it creates the clusters the others join), then the northds (they
    need a majority of each cluster to read anything)."""
    servers, northds = [], []
    for member in members(settings):
        nb, sb, northd = member_services(settings, member)
        servers += [nb, sb]
        northds.append(northd)
    return servers + northds


def ensure_member_netns(settings: Settings, member: Member) -> None:
    """Make member's namespace with ``eth0`` at its address on the cluster segment (a Linux bridge in
    a namespace of its own), and the segment, unless present; all recorded with ``owned``."""
    seg = segment_netns(settings)
    owned.ensure_netns(settings.state_dir, seg)
    with IPRoute(netns=seg) as ipr:
        if not ipr.link_lookup(ifname=SEGMENT_BRIDGE):
            ipr.link("add", ifname=SEGMENT_BRIDGE, kind="bridge")
        ipr.link("set", index=ipr.link_lookup(ifname=SEGMENT_BRIDGE)[0], state="up")
    owned.ensure_netns(settings.state_dir, member.netns)
    far = f"m{member.index}"
    with IPRoute(netns=member.netns) as ipr:
        if not ipr.link_lookup(ifname="eth0"):
            ipr.link("add", ifname="eth0", kind="veth", peer={"ifname": far, "net_ns_fd": seg})
        idx = ipr.link_lookup(ifname="eth0")[0]
        if member.address not in {a.get_attr("IFA_ADDRESS") for a in ipr.get_addr(index=idx)}:
            ipr.addr("add", index=idx, address=member.address, prefixlen=SEGMENT_NET.prefixlen)
        ipr.link("set", index=idx, state="up")
    with IPRoute(netns=seg) as ipr:
        idx = ipr.link_lookup(ifname=far)[0]
        ipr.link("set", index=idx, master=ipr.link_lookup(ifname=SEGMENT_BRIDGE)[0], state="up")

