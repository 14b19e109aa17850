"""``ovnet up``/``down``/``status`` of one machine in its role (``Settings.role``, ovnet.runtime.roles):
the all-in-one (central OVN services, this host's chassis and ovnet's own services), a central
(standalone or Raft-clustered NB/SB, ovn-northd, ovnet-server) or a compute host (chassis + agent).

``up`` is idempotent (a healthy service is left running), refuses to start anything when a binary
is missing or a port is taken, and stops what it started when a later step fails, so nothing is
left half-started. ``down`` stops exactly the processes named in the pidfiles under the state dir.
"""

from __future__ import annotations

import fcntl
import shutil
from contextlib import contextmanager

from ovnet.config import SETTINGS_FILE, Settings
from ovnet.runtime import hosts, owned, public
from ovnet.runtime.chassis import local_chassis, recorded_datapath
from ovnet.runtime.daemon import Service
from ovnet.runtime.process import RuntimeFailure, port_in_use
from ovnet.runtime.roles import role_services, with_cluster_remotes
from ovnet.runtime.status import Progress, ServiceStatus, service_rows

PUBLIC_INDEX = 1  # the all-in-one's veth on the public bridge; added hosts use their underlay number
# Which Debian package brings each binary ovnet runs, for the one-line fix in the error.
PACKAGES = {
    "ovsdb-server": "openvswitch-switch", "ovs-vswitchd": "openvswitch-switch", "ovs-vsctl": "openvswitch-switch",
    "ovsdb-tool": "openvswitch-switch", "ovsdb-client": "openvswitch-switch", "ovs-appctl": "openvswitch-common",
    "ovn-northd": "ovn-central", "ovn-controller": "ovn-host", "ovn-appctl": "ovn-common",
    "ovn-sbctl": "ovn-common", "nsenter": "util-linux",
}

def services(settings: Settings) -> list[Service]:
    """Every service this machine runs in its role, in start order."""
    return role_services(settings)


def _runs_chassis(settings: Settings) -> bool:
    return settings.role != "central"


def _runs_central(settings: Settings) -> bool:
    return settings.role != "compute"


@contextmanager
def _lock(settings: Settings):
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    with open(settings.state_dir / "lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def preflight(todo: list[Service]) -> None:
    """Raise RuntimeFailure for the first missing binary or taken port among services to start."""
    for svc in todo:
        binary = next(a for a in svc.argv if not a.startswith("--") and a != "nsenter")
        for tool in {binary, "ovs-vsctl", "ovsdb-tool", "ovsdb-client", "ovn-appctl", "ovn-sbctl"} & PACKAGES.keys():
            if shutil.which(tool) is None:
                raise RuntimeFailure(f"{tool} not found: install the Debian package {PACKAGES[tool]} (make setup)")
        for port, what in svc.ports:
            host = svc.endpoint.split(":")[1] if svc.endpoint.startswith("tcp:") else "127.0.0.1"
            if port_in_use(host, port):
                raise RuntimeFailure(f"port {port} for {what} is already in use on {host}: "
                                     f"stop what holds it, or pick another port")


@contextmanager
def _remembered(settings: Settings):
    """Save ``settings`` for the block; if it fails, put back the settings file as it was, so a
    failed ``up`` (a busy ``--nb-port``, say) is not remembered for the next command."""
    path = settings.state_dir / SETTINGS_FILE
    before = path.read_bytes() if path.exists() else None
    settings.save()
    try:
        yield
    except BaseException:
        if before is None:
            path.unlink(missing_ok=True)
        else:
            path.write_bytes(before)
        raise


def up(settings: Settings, progress: Progress | None = None) -> list[ServiceStatus]:
    """Start every service that is not already running and healthy; return the status rows.

    Raises RuntimeFailure (one line naming the fix) after stopping whatever this call started
    and restoring the settings file it found; a state dir this call created is removed again.
    """
    note = progress or (lambda _name, _state: None)
    settings = with_cluster_remotes(settings)
    fresh = not settings.state_dir.exists()
    had_datapath = (settings.state_dir / "datapath").exists()
    try:
        return _up(settings, note)
    except BaseException:
        _forget_made(settings, fresh, had_datapath)
        raise


def _forget_made(settings: Settings, fresh: bool, had_datapath: bool) -> None:
    """After a failed ``up`` (whose started services are stopped by then): remove the state dir
    when this call created it and nothing of it runs, else the datapath record it wrote."""
    if fresh and not any(s.pid() for s in services(settings)):
        shutil.rmtree(settings.state_dir, ignore_errors=True)
    elif not had_datapath:
        (settings.state_dir / "datapath").unlink(missing_ok=True)


def _up(settings: Settings, note: Progress) -> list[ServiceStatus]:
    with _lock(settings), _remembered(settings):
        if settings.role == "compute" and not settings.admin_token_file.exists():
            raise RuntimeFailure(f"a compute host calls the API with the central's admin token: copy the "
                                 f"central's <state-dir>/admin-token to {settings.admin_token_file} (mode 0600)")
        if _runs_chassis(settings):
            datapath = recorded_datapath(settings)
            (settings.state_dir / "datapath").write_text(datapath + "\n")
        all_services = services(settings)
        todo = [s for s in all_services if s.pid() is None]
        preflight(todo)
        started: list[Service] = []
        try:
            if settings.netns and _runs_chassis(settings):
                owned.ensure_netns(settings.state_dir, settings.netns)
            for svc in all_services:
                if svc.pid() is None:  # not only todo: one may have died since the check above
                    note(svc.name, "starting")
                    started.append(svc)
                    svc.start()
                    note(svc.name, "started")
                else:
                    svc.wait_healthy()
                    note(svc.name, "running")
            if _runs_central(settings):
                public.tune_bfd(settings)
            if settings.role == "all-in-one":
                # The machine-local public network and added hosts belong to the one-machine
                # install; a compute's provider networks and peers are real ones.
                public.attach(settings, local_chassis(settings), PUBLIC_INDEX)
                if started:
                    hosts.rejoin(settings)  # a restarted ovn-controller wrote the default encap address
                # Hosts hold no truth: once their agents run again they re-plug what is bound there.
                hosts.start_all(settings, note)
        except BaseException:
            for svc in reversed(started):
                svc.stop()
            if not any(s.pid() for s in all_services):
                owned.remove_all(settings.state_dir)
            raise
        return _rows(settings, all_services)


def _public_row(settings: Settings) -> ServiceStatus:
    reason = public.check(settings, local_chassis(settings), PUBLIC_INDEX)
    return ServiceStatus("public-network", None, reason is None, reason is None, reason,
                         f"netns:{settings.public_netns}", "")


def _rows(settings: Settings, all_services: list[Service]) -> list[ServiceStatus]:
    rows = service_rows(all_services)
    # The public wiring is worth checking only while this chassis' ovs-vswitchd runs to hold it,
    # and only on the all-in-one: a compute host's provider networks are the machine's own.
    if settings.role == "all-in-one" and any(r.name == "ovs-vswitchd" and r.alive for r in rows):
        rows.append(_public_row(settings))
    return rows + hosts.service_rows(settings)


def status(settings: Settings) -> list[ServiceStatus]:
    """The status rows of every all-in-one service, a "public-network" row (the public namespace,
    its bridge, the outside host and this chassis' provider bridge and mapping; while this
    chassis' ovs-vswitchd runs), then those of every recorded host (named "HOST/SERVICE", e.g.
    "hv2/ovs-vswitchd"); no side effects."""
    return _rows(settings, services(settings))


def down(settings: Settings, purge: bool = False, progress: Progress | None = None) -> None:
    """Stop every service by its pidfile pid (reverse order), remove the namespaces and links ovnet
    recorded (an extra host's namespace only with ``purge`` while workload veths live there), and
    with ``purge`` delete the state dir. Stopping what is not running is harmless.

    When stopping the hosts or a service raises (RuntimeFailure, OSError), the other services are
    still stopped and the namespaces and links still removed, then the first error is raised and
    the state dir is kept: one failed stop used to skip all of that and leave the namespaces
    behind."""
    note = progress or (lambda _name, _state: None)
    if not settings.state_dir.exists():
        return
    errors: list[Exception] = []
    with _lock(settings):
        try:
            for name in hosts.stop_all(settings, keep_workloads=not purge):
                note(f"host {name}", "stopped")
        except (RuntimeFailure, OSError) as exc:
            errors.append(exc)
        for svc in reversed(services(settings)):
            try:
                if svc.stop():
                    note(svc.name, "stopped")
            except (RuntimeFailure, OSError) as exc:
                errors.append(exc)
        removed = owned.remove_all(settings.state_dir)
        for name in removed:
            note(name, "removed")
        # A host's namespace kept for workload veths goes when those were in namespaces just removed.
        for name in hosts.prune_netns(settings, settle_s=5.0 if any(r.startswith("netns") for r in removed) else 0.0):
            note(f"netns {name}", "removed")
        (settings.state_dir / "datapath").unlink(missing_ok=True)
    if errors:
        raise errors[0]
    if purge:
        shutil.rmtree(settings.state_dir)
