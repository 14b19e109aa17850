"""One hypervisor (OVN chassis): its local ovsdb-server, ovs-vswitchd with the integration bridge,
and ovn-controller. The all-in-one host is one; `ovnet host add` makes more."""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from pyroute2 import IPRoute
from pyroute2 import netns as kernel_netns

from ovnet.config import Settings
from ovnet.runtime.central import ensure_db, list_dbs_probe
from ovnet.runtime.daemon import Service
from ovnet.runtime.process import RuntimeFailure, pid_alive, run, wait_until

VSWITCH_SCHEMA = Path("/usr/share/openvswitch/vswitch.ovsschema")
# Seconds an ovn-controller told to "exit" gets to commit its SB cleanup before it is signalled.
CONTROLLER_EXIT_TIMEOUT = 5.0


def choose_datapath(preference: str = "auto") -> str:
    """``"system"`` when the openvswitch kernel module is usable, else ``"netdev"`` (userspace).

    ``preference`` "system" or "netdev" is returned as is; "auto" probes ``/sys/module/openvswitch``
    and then tries ``modprobe openvswitch``. Raises ValueError on any other preference.
    """
    if preference in ("system", "netdev"):
        return preference
    if preference != "auto":
        raise ValueError(f"datapath must be auto, system or netdev, not {preference!r}")
    if Path("/sys/module/openvswitch").exists():
        return "system"
    if shutil.which("modprobe") is None:
        return "netdev"
    probe = subprocess.run(["modprobe", "-q", "openvswitch"], capture_output=True, check=False)
    return "system" if probe.returncode == 0 and Path("/sys/module/openvswitch").exists() else "netdev"


def _netns_inode(netns: str | None) -> int:
    return os.stat(f"/run/netns/{netns}" if netns else "/proc/self/ns/net").st_ino


def vswitchd_pids_in(netns: str | None) -> list[int]:
    """Pids of every ovs-vswitchd process (anyone's) whose network namespace is ``netns``."""
    want, pids = _netns_inode(netns), []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if (entry / "comm").read_text().strip() == "ovs-vswitchd" and \
                    os.stat(entry / "ns" / "net").st_ino == want:
                pids.append(int(entry.name))
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue  # the process ended while we looked
    return pids


def claim_netdev_datapath(netns: str | None) -> None:
    """Make sure a userspace-datapath ovs-vswitchd can start in ``netns`` (None: this namespace).

    Such a vswitchd owns the namespace's one "ovs-netdev" tap: a second one starts but never
    creates its bridges, so another live ovs-vswitchd there raises RuntimeFailure; an "ovs-netdev"
    that a killed one left behind (the tap is persistent) is deleted.
    """
    if vswitchd_pids_in(netns):
        raise RuntimeFailure("another ovs-vswitchd runs in this network namespace (a userspace datapath "
                             "holds its 'ovs-netdev' device): stop it (ovnet down, or the system "
                             "openvswitch-switch service) first")
    _delete_netdev_tap(netns)


def release_netdev_datapath(netns: str | None) -> bool:
    """After a userspace-datapath ovs-vswitchd stopped in ``netns`` (None: this namespace), delete
    the "ovs-netdev" tap it leaves behind (the tap is persistent: even a clean exit keeps it), so
    ``ovnet down`` leaves the namespace as ``up`` found it. Kept while any ovs-vswitchd (anyone's)
    still runs there: then it is that one's. Returns whether a tap was deleted."""
    if netns and netns not in kernel_netns.listnetns():
        return False  # the namespace went, and the tap with it
    return not vswitchd_pids_in(netns) and _delete_netdev_tap(netns)


def _delete_netdev_tap(netns: str | None) -> bool:
    with IPRoute(netns=netns) if netns else IPRoute() as ipr:
        stale = ipr.link_lookup(ifname="ovs-netdev")
        if stale:
            ipr.link("del", index=stale[0])
        return bool(stale)


@dataclass(frozen=True)
class ChassisSpec:
    """Where one chassis keeps its files and how it joins OVN.

    ``root`` holds run/ovs, run/ovn, log and db; ``netns`` (or None) is where ovs-vswitchd runs, so its
    bridge and tunnel devices live there; ``encap_ip`` is the Geneve tunnel endpoint (IPv4 string);
    ``sb_connection`` the SB connection (OVN remotes, comma-separated), e.g. ``tcp:127.0.0.1:6642``.
    """

    name: str
    root: Path
    sb_connection: str
    encap_ip: str
    bridge: str = "br-int"
    netns: str | None = None
    datapath: str = "netdev"

    @property
    def ovs_rundir(self) -> Path:
        return self.root / "run" / "ovs"

    @property
    def ovn_rundir(self) -> Path:
        return self.root / "run" / "ovn"

    @property
    def log_dir(self) -> Path:
        return self.root / "log"

    @property
    def db_sock(self) -> Path:
        return self.ovs_rundir / "db.sock"

    @property
    def env(self) -> dict[str, str]:
        """Environment that points OVS/OVN tools at this chassis' private run directories."""
        return {**os.environ, "OVS_RUNDIR": str(self.ovs_rundir), "OVN_RUNDIR": str(self.ovn_rundir),
                "OVS_LOGDIR": str(self.log_dir), "OVN_LOGDIR": str(self.log_dir)}

    def vsctl(self, *args: str, wait: bool = True) -> str:
        """Run ``ovs-vsctl`` against this chassis' OVSDB; returns stdout."""
        argv = ["ovs-vsctl", f"--db=unix:{self.db_sock}", "--timeout=10"]
        return run(argv + ([] if wait else ["--no-wait"]) + list(args), timeout=15)

    def controller_ctl(self, pid: int) -> Path:
        # OVN 23.03's ovn-controller rejects --unixctl; it names its socket after its pid.
        return self.ovn_rundir / f"ovn-controller.{pid}.ctl"


def chassis_services(spec: ChassisSpec) -> list[Service]:
    """Local ovsdb-server, ovs-vswitchd and ovn-controller for ``spec``, in start order."""
    ovs, ovn, logs = spec.ovs_rundir, spec.ovn_rundir, spec.log_dir
    conf_db = spec.root / "db" / "conf.db"
    netns_prefix = ["nsenter", f"--net=/run/netns/{spec.netns}"] if spec.netns else []

    def init_db() -> None:
        ensure_db(conf_db, VSWITCH_SCHEMA)

    def prepare_vswitchd() -> None:
        if spec.datapath == "netdev":
            claim_netdev_datapath(spec.netns)
        spec.vsctl("init", wait=False)

    def configure() -> None:
        spec.vsctl("--", "--may-exist", "add-br", spec.bridge,
                   "--", "set", "Bridge", spec.bridge, f"datapath_type={spec.datapath}", "fail_mode=secure",
                   "other_config:disable-in-band=true",
                   "--", "set", "Open_vSwitch", ".", f"external_ids:system-id={spec.name}",
                   f"external_ids:hostname={spec.name}", f"external_ids:ovn-remote={spec.sb_connection}",
                   "external_ids:ovn-encap-type=geneve", f"external_ids:ovn-encap-ip={spec.encap_ip}",
                   f"external_ids:ovn-bridge={spec.bridge}",
                   f"external_ids:ovn-bridge-datapath-type={spec.datapath}",
                   "external_ids:ovn-remote-probe-interval=5000")

    def vswitchd_probe() -> str | None:
        run(["ovs-appctl", "-t", str(ovs / "ovs-vswitchd.ctl"), "version"], timeout=3)
        return None

    def controller_probe() -> str | None:
        pid = int((ovn / "ovn-controller.pid").read_text())
        status = run(["ovn-appctl", "-t", str(spec.controller_ctl(pid)), "connection-status"], timeout=3).strip()
        if status != "connected":
            return f"SB connection {status}"
        found = run(["ovn-sbctl", f"--db={spec.sb_connection}", "--timeout=2", "--bare", "--columns=name",
                     "find", "Chassis", f"name={spec.name}"], timeout=3).strip()
        return None if found == spec.name else f"chassis {spec.name} not registered in SB"

    def controller_exit(pid: int) -> None:
        # "exit" makes ovn-controller remove its Chassis and Encap rows from SB before leaving, but
        # it answers before that cleanup is committed: the SIGTERM that follows this hook would cut
        # it short and leave the chassis (and the ports it had claimed) up in SB.
        run(["ovn-appctl", "-t", str(spec.controller_ctl(pid)), "exit"], timeout=5)
        wait_until(lambda: "still running" if pid_alive(pid) else None, CONTROLLER_EXIT_TIMEOUT)

    def drop_bridge(_pid: int) -> None:
        # Deleting the bridge removes its ports and, on the kernel datapath, its kernel devices.
        spec.vsctl("--if-exists", "del-br", spec.bridge)

    return [
        Service(
            name="ovsdb-local",
            argv=["ovsdb-server", str(conf_db), f"--remote=punix:{spec.db_sock}",
                  f"--pidfile={ovs / 'ovsdb-server.pid'}", f"--log-file={logs / 'ovsdb-server.log'}",
                  f"--unixctl={ovs / 'ovsdb-server.ctl'}", "--detach", "--no-chdir"],
            pidfile=ovs / "ovsdb-server.pid",
            log=logs / "ovsdb-server.log",
            endpoint=f"unix:{spec.db_sock}",
            health=list_dbs_probe(f"unix:{spec.db_sock}", "Open_vSwitch"),
            before=init_db,
            env=spec.env,
        ),
        Service(
            name="ovs-vswitchd",
            argv=netns_prefix + ["ovs-vswitchd", f"unix:{spec.db_sock}", f"--pidfile={ovs / 'ovs-vswitchd.pid'}",
                                 f"--log-file={logs / 'ovs-vswitchd.log'}",
                                 f"--unixctl={ovs / 'ovs-vswitchd.ctl'}", "--detach", "--no-chdir"],
            pidfile=ovs / "ovs-vswitchd.pid",
            log=logs / "ovs-vswitchd.log",
            endpoint=f"{spec.bridge} ({spec.datapath} datapath" + (f", netns {spec.netns})" if spec.netns else ")"),
            health=vswitchd_probe,
            before=prepare_vswitchd,
            before_stop=drop_bridge,
            after_stop=(lambda: release_netdev_datapath(spec.netns)) if spec.datapath == "netdev" else None,
            env=spec.env,
        ),
        Service(
            name="ovn-controller",
            argv=["ovn-controller", f"unix:{spec.db_sock}", f"--pidfile={ovn / 'ovn-controller.pid'}",
                  f"--log-file={logs / 'ovn-controller.log'}", "--detach", "--no-chdir"],
            pidfile=ovn / "ovn-controller.pid",
            log=logs / "ovn-controller.log",
            endpoint=f"chassis {spec.name} -> {spec.sb_connection}",
            health=controller_probe,
            before=configure,
            before_stop=controller_exit,
            env=spec.env,
        ),
    ]


def recorded_datapath(settings: Settings) -> str:
    """The datapath of the chassis ``settings`` describe: the one ``up`` recorded in
    ``<state_dir>/datapath``, else ``choose_datapath(settings.datapath)``."""
    recorded = settings.state_dir / "datapath"
    if recorded.exists():
        return recorded.read_text().strip()
    return choose_datapath(settings.datapath)


def local_chassis(settings: Settings) -> ChassisSpec:
    """The ChassisSpec of the host ``settings`` describe (the all-in-one's, or an added host's),
    with the datapath resolved; its ovn-controller reaches SB at ``settings.sb_connection``."""
    return ChassisSpec(name=settings.chassis_name, root=settings.state_dir, sb_connection=settings.sb_connection,
                       encap_ip=settings.encap_ip, bridge=settings.bridge, netns=settings.netns,
                       datapath=recorded_datapath(settings))
