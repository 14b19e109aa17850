"""More hypervisors on this machine (``ovnet host add``), joined to the all-in-one's central services.

A host NAME is an OVN chassis named NAME whose ovs-vswitchd runs inside the network namespace
``ovnet-NAME-<tag>``, with its own ovsdb-server and an ovn-controller in the root namespace (it
reaches SB on loopback through the host's private OVS_RUNDIR), a veth into the underlay segment
(``ovnet.runtime.underlay``) and Geneve encap over it, and an ovnet-agent of its own.

A host's record is a Settings file under ``<state_dir>/hosts/NAME/`` whose state_dir is that
directory, so the host's agent reads its own settings like any ovnet service. The host's namespace
(recorded under that directory too) holds the host ends of its workloads' veths, so ``ovnet down``
keeps it while such a veth lives there, as the main host's root namespace stays: after ``ovnet up``
its ovs-vswitchd and agent find those ports again. ``host remove`` and ``down --purge`` delete it.
The all-in-one is
chassis number 1 of the underlay; it joins the underlay (br-phy, 100.64.0.1 as its encap address)
while at least one host runs and leaves it when the last one stops.
"""

from __future__ import annotations

import dataclasses
import fcntl
import re
import shutil
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from pyroute2 import IPRoute, netns

from ovnet.config import SETTINGS_FILE, Settings, load_settings
from ovnet.runtime import owned, public, underlay
from ovnet.runtime.chassis import ChassisSpec, chassis_services, local_chassis
from ovnet.runtime.daemon import Service
from ovnet.runtime.process import RuntimeFailure, run, wait_until
from ovnet.runtime.services import ovnet_services
from ovnet.runtime.status import Progress, ServiceStatus, service_rows as status_rows

HOSTS_DIR = "hosts"
AGENT = "ovnet-agent"
LOCAL_INDEX = 1
# A chassis name that is also safe inside a namespace name and a directory name.
NAME_RE = re.compile(r"^[a-z][a-z0-9-]{0,23}$")


@dataclass
class HostStatus:
    """One row of ``ovnet host list``: chassis name, tunnel address, namespace, and per service
    (name, pid or None, None when healthy else the reason)."""

    name: str
    encap_ip: str
    netns: str
    services: list[tuple[str, int | None, str | None]]

    @property
    def healthy(self) -> bool:
        return bool(self.services) and all(reason is None for _, _, reason in self.services)


def hosts_root(settings: Settings) -> Path:
    return settings.state_dir / HOSTS_DIR


def host_settings(settings: Settings, name: str) -> Settings | None:
    """The recorded Settings of host ``name``, or None when there is no such host."""
    path = hosts_root(settings) / name
    return load_settings(path) if (path / SETTINGS_FILE).exists() else None


def host_names(settings: Settings) -> list[str]:
    """Names of the recorded hosts, sorted."""
    root = hosts_root(settings)
    return sorted(p.parent.name for p in root.glob(f"*/{SETTINGS_FILE}")) if root.exists() else []


def _hosts(settings: Settings) -> list[Settings]:
    return [load_settings(hosts_root(settings) / name) for name in host_names(settings)]


@contextmanager
def _lock(settings: Settings):
    root = hosts_root(settings)
    root.mkdir(parents=True, exist_ok=True)
    with open(root / "lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def _services(host: Settings) -> tuple[ChassisSpec, list[Service]]:
    spec = local_chassis(host)
    agents = [s for s in ovnet_services(host) if s.name == AGENT]
    return spec, chassis_services(spec) + agents


def _index(host: Settings) -> int:
    index = underlay.address_index(host.encap_ip)
    if index is None:
        raise RuntimeFailure(f"host {host.chassis_name} has encap address {host.encap_ip} outside the underlay")
    return index


def _record(settings: Settings, name: str, datapath: str) -> Settings:
    used = {LOCAL_INDEX} | {_index(h) for h in _hosts(settings)}
    index = next(i for i in range(LOCAL_INDEX + 1, 254) if i not in used)
    host = dataclasses.replace(settings, state_dir=hosts_root(settings) / name, chassis_name=name, bridge="br-int",
                               encap_ip=underlay.encap_address(index), datapath=datapath,
                               netns=f"ovnet-{name}-{underlay.tag(settings.state_dir)}",
                               # /run/docker/plugins is shared by every host on this machine, and
                               # the all-in-one's dockerd is not this host's
                               docker_plugin=f"{settings.docker_plugin}-{name}",
                               docker_host=Settings.docker_host)
    host.save()
    (host.state_dir / "datapath").write_text(datapath + "\n")
    return host


def _share_token(settings: Settings, host: Settings) -> None:
    # The host's agent calls the API with the installation's admin token, read from its own dir.
    token = settings.admin_token_file
    if token.exists():
        copy = host.admin_token_file
        copy.touch(mode=0o600)
        copy.write_text(token.read_text())


def check_name(settings: Settings, name: str) -> None:
    """ValueError unless ``name`` can name a host: NAME_RE, and not the all-in-one's chassis name."""
    if not NAME_RE.match(name) or name == settings.chassis_name:
        raise ValueError(f"host name {name!r} must match {NAME_RE.pattern} and differ from the all-in-one's chassis "
                         f"name {settings.chassis_name!r}")


def add(settings: Settings, name: str) -> HostStatus:
    """Start host ``name`` (create it unless recorded); idempotent; returns its status.

    Needs the all-in-one of ``settings`` running. Raises ValueError for a bad name and
    RuntimeFailure when something cannot start, after stopping the host again (unless it was
    running before this call) and deleting the record this call made.
    """
    check_name(settings, name)
    local = local_chassis(settings)
    reason = chassis_services(local)[-1].check()
    if reason is not None:
        raise RuntimeFailure(f"the all-in-one is not running (ovn-controller: {reason}): run `ovnet up` first")
    with _lock(settings):
        host = host_settings(settings, name)
        created = host is None
        if host is None:
            host = _record(settings, name, local.datapath)
        was_running = any(svc.pid() for svc in _services(host)[1])
        try:
            _join_local(settings, local)
            owned.ensure_netns(host.state_dir, host.netns)
            spec, svcs = _services(host)
            ovsdb, vswitchd, *rest = svcs
            for svc in (ovsdb, vswitchd):
                if svc.pid() is None:
                    svc.start()
            underlay.attach(settings.state_dir, spec, _index(host), settings.underlay_mtu)
            public.attach(settings, spec, _index(host))
            _share_token(settings, host)
            for svc in rest:
                if svc.pid() is None:
                    svc.start()
        except BaseException:
            if not was_running:
                _stop(settings, host, keep_workloads=not created)
            if created:
                shutil.rmtree(host.state_dir, ignore_errors=True)
            _leave_local_if_alone(settings, local)
            raise
        return _status(host)


def remove(settings: Settings, name: str) -> bool:
    """Stop host ``name`` and delete its record; False when there was no such host."""
    with _lock(settings):
        host = host_settings(settings, name)
        if host is None:
            return False
        _stop(settings, host)
        shutil.rmtree(host.state_dir)
        _leave_local_if_alone(settings, local_chassis(settings))
        return True


def list_hosts(settings: Settings) -> list[HostStatus]:
    """The status of every recorded host (no side effects)."""
    return [_status(h) for h in _hosts(settings)]


def start_all(settings: Settings, progress: Progress | None = None) -> list[str]:
    """Start every recorded host that is not fully running (``ovnet up`` after ``ovnet down`` or a
    crash); returns the names started. Needs the all-in-one running. Raises RuntimeFailure after
    stopping the hosts this call started."""
    note = progress or (lambda _name, _state: None)
    started: list[str] = []
    try:
        for host in _hosts(settings):
            if all(svc.pid() for svc in _services(host)[1]):
                continue
            note(f"host {host.chassis_name}", "starting")
            add(settings, host.chassis_name)  # stops the host again when it fails
            started.append(host.chassis_name)
            note(f"host {host.chassis_name}", "started")
    except BaseException:
        with _lock(settings):
            for name in started:
                _stop(settings, host_settings(settings, name), keep_workloads=True)
            _leave_local_if_alone(settings, local_chassis(settings))
        raise
    return started


def service_rows(settings: Settings) -> list[ServiceStatus]:
    """``ovnet status`` rows of every recorded host's services, named "HOST/SERVICE"."""
    rows = []
    for host in _hosts(settings):
        for row in status_rows(_services(host)[1]):
            row.name = f"{host.chassis_name}/{row.name}"
            rows.append(row)
    return rows


def stop_all(settings: Settings, keep_workloads: bool = True) -> list[str]:
    """Stop every host and take the all-in-one off the underlay; records stay (``up`` and ``host
    add`` restart them), and with ``keep_workloads`` so do the namespaces that hold workload veths.
    For ``ovnet down``; returns the names of the hosts that were running."""
    if not hosts_root(settings).exists():
        return []
    with _lock(settings):
        stopped = [h.chassis_name for h in _hosts(settings) if _stop(settings, h, keep_workloads)]
        _leave_local(settings, local_chassis(settings))
        return stopped


def prune_netns(settings: Settings, settle_s: float = 0.0) -> list[str]:
    """Delete the namespace of every stopped host that holds no workload veth any more; returns
    the names deleted. ``ovnet down`` calls this after deleting the workload namespaces it owns,
    with ``settle_s`` seconds to wait for their veths: the kernel destroys a namespace, and the
    veths in it, only once its last process has left."""
    if not hosts_root(settings).exists():
        return []
    with _lock(settings):
        stopped = [h for h in _hosts(settings)
                   if h.netns in netns.listnetns() and not any(s.pid() for s in _services(h)[1])]
        wait_until(lambda: "workload veths" if any(_holds_workloads(h.netns) for h in stopped) else None, settle_s)
        return [h.netns for h in stopped if _drop_netns(h, keep_workloads=True)]


def rejoin(settings: Settings) -> None:
    """Put the all-in-one back on the underlay while hosts run: ``ovnet up`` calls this after
    restarting any of its services, since a restarted ovn-controller writes the default encap
    address and a restarted ovs-vswitchd drops br-phy's tunnel address. Raises RuntimeFailure."""
    if not hosts_root(settings).exists():
        return
    with _lock(settings):
        if _any_running(settings):
            _join_local(settings, local_chassis(settings))


def _status(host: Settings) -> HostStatus:
    _spec, svcs = _services(host)
    return HostStatus(host.chassis_name, host.encap_ip, host.netns or "",
                      [(s.name, s.pid(), s.check()) for s in svcs])


def _stop(settings: Settings, host: Settings, keep_workloads: bool = False) -> bool:
    """Stop a host's processes, drop its underlay veth and its namespace (kept with
    ``keep_workloads`` while it holds workload veths); True if anything ran."""
    spec, svcs = _services(host)
    ovsdb, vswitchd, controller, *agents = svcs
    ran = any(s.pid() is not None for s in svcs)
    for svc in (*reversed(agents), controller):
        svc.stop()
    underlay.detach(settings.state_dir, spec, _index(host), vswitchd_running=vswitchd.pid() is not None)
    public.detach(settings, spec, _index(host), vswitchd_running=vswitchd.pid() is not None)
    vswitchd.stop()
    ovsdb.stop()
    _drop_netns(host, keep_workloads)
    return ran


def _drop_netns(host: Settings, keep_workloads: bool) -> bool:
    """Delete the host's namespace unless ``keep_workloads`` and a workload veth lives there (one
    whose peer is in another namespace: deleting its end would take the workload's NIC with it);
    True if it was deleted."""
    present = host.netns in netns.listnetns()
    if present and keep_workloads and _holds_workloads(host.netns):
        return False
    if present:
        netns.remove(host.netns)
    owned.forget(host.state_dir, netns_name=host.netns)
    return present


def _holds_workloads(name: str) -> bool:
    with IPRoute(netns=name) as ipr:
        return any(link.get_attr("IFLA_LINK_NETNSID") is not None for link in ipr.get_links())


def _join_local(settings: Settings, local: ChassisSpec) -> None:
    address = underlay.attach(settings.state_dir, local, LOCAL_INDEX, settings.underlay_mtu)
    # ovn-controller notices the change and rewrites this chassis' Encap row in SB; the other
    # chassis build their tunnels to it from that row, so add() returns only once it is there.
    local.vsctl("set", "Open_vSwitch", ".", f"external_ids:ovn-encap-ip={address}")
    reason = wait_until(lambda: _encap_reason(local, address), 10.0)
    if reason is not None:
        raise RuntimeFailure(f"chassis {local.name} did not move its Geneve endpoint to {address}: {reason}")


def _encap_reason(spec: ChassisSpec, address: str) -> str | None:
    found = run(["ovn-sbctl", f"--db={spec.sb_connection}", "--timeout=2", "--bare", "--columns=ip", "find", "Encap",
                 f"chassis_name={spec.name}"], timeout=3).split()
    return None if found == [address] else f"SB Encap has {found}"


def _any_running(settings: Settings) -> bool:
    return any(chassis_services(local_chassis(h))[1].pid() for h in _hosts(settings))


def _leave_local_if_alone(settings: Settings, local: ChassisSpec) -> None:
    if not _any_running(settings):
        _leave_local(settings, local)


def _leave_local(settings: Settings, local: ChassisSpec) -> None:
    vswitchd_running = chassis_services(local)[1].pid() is not None
    if vswitchd_running:
        try:
            local.vsctl("set", "Open_vSwitch", ".", f"external_ids:ovn-encap-ip={settings.encap_ip}")
        except RuntimeFailure:
            pass  # `ovnet down` must go on; the next ovn-controller start writes the encap address anew
    underlay.detach(settings.state_dir, local, LOCAL_INDEX, vswitchd_running=vswitchd_running)
    underlay.remove_segment(settings.state_dir)
