"""VMs as workloads: ``run`` binds one or more ports as taps through the chosen host's agent and
boots the test VM image on them (one NIC per port); ``remove`` stops the VM by pid and unbinds them.

Each VM leaves three files under the all-in-one's state dir: ``run/vm/NAME.json`` (its record),
``run/vm/NAME.pid`` (QEMU's pid) and ``log/vm-NAME.console.log`` (its serial console), and the
socket of its guest shell under /run/ovnet-vm. A failed ``run`` leaves none of them and no binding.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import httpx

from ovnet.apiclient import ApiClient, ApiError
from ovnet.config import Settings
from ovnet.host.agentclient import AgentClient, local_admin_token
from ovnet.host.libvirt import tap_name
from ovnet.runtime.hosts import host_settings
from ovnet.runtime.process import pid_alive, read_pid
from ovnet.testbed import qemu
from ovnet.testbed.qemu import VmError
from ovnet.testbed.vmimage import VmImage, current_image, load_image

SHELL_DIR = Path("/run/ovnet-vm")
DEVICE_OWNER = "compute:qemu"  # Nova writes compute:<availability zone>; here: what runs the VM
NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,39}")  # a file name and a kernel argument


@dataclass(frozen=True)
class VmNic:
    """One NIC of a VM: the ``port_id`` it is bound to, via ``tap``, with the port's ``mac``."""

    port_id: str
    tap: str
    mac: str


@dataclass(frozen=True)
class VmRecord:
    """One VM: ``name``, its ``nics`` (the guest's eth0, eth1, ... in order) bound on ``host``
    (chassis name; taps in network namespace ``netns``, None = the root one), QEMU's ``pidfile``,
    the ``console`` log and the ``shell`` socket (ovnet.testbed.guest.run runs commands in it)."""

    name: str
    nics: tuple[VmNic, ...]
    host: str
    netns: str | None
    pidfile: str
    console: str
    shell: str

    @classmethod
    def from_json(cls, text: str) -> VmRecord:
        data = json.loads(text)
        return cls(**{**data, "nics": tuple(VmNic(**nic) for nic in data["nics"])})

    @property
    def port_id(self) -> str:
        """eth0's port."""
        return self.nics[0].port_id

    @property
    def tap(self) -> str:
        """eth0's tap."""
        return self.nics[0].tap

    @property
    def mac(self) -> str:
        """eth0's MAC."""
        return self.nics[0].mac

    def pid(self) -> int | None:
        """QEMU's pid when it runs, else None."""
        pid = read_pid(Path(self.pidfile))
        return pid if pid_alive(pid) else None


def vm_dir(settings: Settings) -> Path:
    """Where VM records and pidfiles live."""
    return settings.run_dir / "vm"


def shell_path(settings: Settings, name: str) -> Path:
    """The guest shell socket of VM ``name``: under /run, since a unix socket path has at most
    107 bytes and state dirs (pytest's among them) can be long."""
    digest = hashlib.sha256(f"{settings.state_dir.resolve()}\0{name}".encode()).hexdigest()[:16]
    return SHELL_DIR / f"{digest}.sock"


def _record_path(settings: Settings, name: str) -> Path:
    return vm_dir(settings) / f"{name}.json"


def load_record(settings: Settings, name: str) -> VmRecord | None:
    """The record of VM ``name``, or None when there is none."""
    path = _record_path(settings, name)
    return VmRecord.from_json(path.read_text()) if path.exists() else None


def list_records(settings: Settings) -> list[VmRecord]:
    """Every recorded VM, by name."""
    folder = vm_dir(settings)
    return [VmRecord.from_json(p.read_text()) for p in sorted(folder.glob("*.json"))] if folder.exists() else []


def host_of(settings: Settings, host: str | None) -> Settings:
    """The Settings of hypervisor ``host`` (None or this chassis: the all-in-one itself).
    Raises VmError for an unknown host."""
    if not host or host == settings.chassis_name:
        return settings
    other = host_settings(settings, host)
    if other is None:
        raise VmError(f"no host {host} (see `ovnet host list`)")
    return other


def check_run_args(name: str, ports: Sequence[str], tap: str | None) -> None:
    """VmError unless ``name``, ``ports`` (ids or names, one per NIC) and ``tap`` can make a VM:
    a valid name, one or more distinct ports, a tap name only for a single port."""
    if not NAME_RE.fullmatch(name):
        raise VmError(f"invalid VM name {name!r}: 1-40 of A-Z a-z 0-9 _ . -, starting with a letter or digit")
    if not ports or len(set(ports)) != len(ports):
        raise VmError(f"a VM needs one or more distinct ports, got {list(ports)}")
    if tap and len(ports) > 1:
        raise VmError("--tap names the tap of a VM with a single port")


def run(settings: Settings, name: str, ports: str | Sequence[str], *, host: str | None = None,
        tap: str | None = None, image: Path | None = None, token: str | None = None,
        compressed: bool = False) -> VmRecord:
    """Bind ``ports`` (one port id, or several: one NIC each, eth0 first) as taps on ``host`` and
    boot VM ``name`` on them; return its record.

    ``tap`` names eth0's tap (only with a single port); taps default to ``tap`` + 11 characters of
    the port id; ``image`` to the image built last (``ovnet vm build``); ``token`` is the caller's
    API token (None: the local admin). Raises VmError (bad name, name taken, unknown host, no or
    repeated ports, port already plugged on that host, QEMU failure), VmImageError (no image),
    ovnet.apiclient.ApiError from the agent (port not found or bound to another host, tap name
    taken, bind timeout). On any error nothing is left.
    """
    port_ids = [ports] if isinstance(ports, str) else list(ports)
    check_run_args(name, port_ids, tap)
    if load_record(settings, name) is not None:
        raise VmError(f"VM {name} exists; `ovnet vm rm {name}` first")
    chosen: VmImage = load_image(image) if image else current_image(settings.cache_dir)
    hypervisor = host_of(settings, host)
    with AgentClient(hypervisor.agent_socket, token) as agent:
        plugged = {b["port_id"]: b for b in agent.bindings()}
        for port_id in port_ids:
            if port_id in plugged:
                raise VmError(f"port {port_id} is already plugged on host {hypervisor.chassis_name} as "
                              f"{plugged[port_id]['kind']} {plugged[port_id]['device']}; "
                              f"a VM needs a port of its own")
        taps: dict[str, str] = {}  # port id -> tap, of the ports bound so far
        try:
            for port_id in port_ids:
                taps[port_id] = agent.bind(port_id, "tap", tap or tap_name(port_id))["device"]
            macs = {b["port_id"]: b["mac"] for b in agent.bindings()}
            nics = tuple(VmNic(port_id, taps[port_id], macs[port_id]) for port_id in port_ids)
            record = VmRecord(name=name, nics=nics, host=hypervisor.chassis_name, netns=hypervisor.netns,
                              pidfile=str(vm_dir(settings) / f"{name}.pid"),
                              console=str(settings.log_dir / f"vm-{name}.console.log"),
                              shell=str(shell_path(settings, name)))
            spec = qemu.QemuSpec(name=name, nics=tuple((n.tap, n.mac) for n in nics), console=Path(record.console),
                                 pidfile=Path(record.pidfile), netns=record.netns, compressed=compressed,
                                 shell=Path(record.shell))
            try:
                qemu.start(chosen, spec)
                _record_path(settings, name).write_text(json.dumps(asdict(record), indent=1) + "\n")
            except BaseException:
                qemu.stop(spec.pidfile, spec.shell)
                spec.console.unlink(missing_ok=True)
                raise
        except BaseException:
            for port_id in taps:
                agent.unbind(port_id)
            raise
    try:
        _mark_ports(settings, token, port_ids, DEVICE_OWNER, name)
    except (ApiError, httpx.HTTPError):
        pass  # only a label for clients: the VM runs on its ports all the same
    return record


def remove(settings: Settings, name: str, token: str | None = None) -> VmRecord:
    """Stop VM ``name`` (by its pid) and unbind its ports on its host; return the record it had.
    A host that was removed or whose agent is down has nothing left to unbind. Raises VmError
    when there is no such VM; ApiError when the agent refuses the unbind (the VM is stopped
    already and its record kept, so the command can be repeated)."""
    record = load_record(settings, name)
    if record is None:
        raise VmError(f"no VM {name} (see `ovnet vm list`)")
    qemu.stop(Path(record.pidfile), Path(record.shell))
    try:
        socket = host_of(settings, record.host).agent_socket
    except VmError:
        socket = None
    if socket is not None and socket.exists():
        with AgentClient(socket, token) as agent:
            plugged = {b["port_id"] for b in agent.bindings()}
            for nic in record.nics:
                if nic.port_id in plugged:
                    agent.unbind(nic.port_id)
            if any(nic.port_id not in plugged for nic in record.nics):
                # Unbound while the VM ran: its tap stayed for it (ovnet.host.vif.TapVif) and,
                # now that QEMU let go of it, is a leftover the agent's reconcile removes.
                agent.reconcile()
    # else the host was removed or is down, and its bridge and taps went with it
    try:
        _mark_ports(settings, token, [nic.port_id for nic in record.nics], "", "")
    except (ApiError, httpx.HTTPError):
        pass  # a port deleted meanwhile, or the API down (ovnet down): nothing to tell it
    _record_path(settings, name).unlink(missing_ok=True)
    return record


def _mark_ports(settings: Settings, token: str | None, port_ids: list[str], owner: str, device: str) -> None:
    # Nova's convention (Neutron API: ports): a VM's ports carry device_owner "compute:<zone>" and
    # device_id = the instance, so clients (the topology page) can tell a VM's NIC from others.
    with ApiClient(settings.api_endpoints, token or local_admin_token(settings.agent_socket)) as api:
        for port_id in port_ids:
            api.update_port(port_id, device_owner=owner, device_id=device)


def stop_all(settings: Settings, host: str | None = None) -> list[str]:
    """Remove every recorded VM (for ``ovnet down``), or those on hypervisor ``host`` (a chassis
    name, before that host is removed): unbind through the agent while it runs, else just stop
    QEMU by pid and drop the record. Returns the names."""
    names = []
    for record in list_records(settings):
        if host is not None and record.host != host:
            continue
        try:
            remove(settings, record.name)
        except (VmError, ApiError, httpx.HTTPError):
            qemu.stop(Path(record.pidfile), Path(record.shell))
            _record_path(settings, record.name).unlink(missing_ok=True)
        names.append(record.name)
    return names


def down_hook(settings: Settings) -> list[str]:
    """The ``ovnet.down`` hook (ovnet.runtime.cleanup): stop_all, as "VM NAME" lines."""
    return [f"VM {name}" for name in stop_all(settings)]


def host_remove_hook(settings: Settings, host: str) -> list[str]:
    """The ``ovnet.host_remove`` hook (ovnet.runtime.cleanup): stop_all of the VMs on ``host``, as
    "VM NAME" lines."""
    return [f"VM {name}" for name in stop_all(settings, host)]
