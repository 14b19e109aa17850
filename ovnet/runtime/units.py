"""systemd units for the processes ``ovnet up`` starts: one ``ovnet-<service>.service`` per daemon
and one ``ovnet.target`` that wants them, for a role:

- ``all-in-one``: OVN central, this host's chassis and ovnet-server + ovnet-agent (``ovnet up``);
- ``central``: NB and SB ovsdb-servers, ovn-northd, ovnet-server;
- ``compute``: the local ovsdb-server, ovs-vswitchd, ovn-controller, ovnet-agent.

Each unit runs exactly ``Service.argv`` (binaries resolved to absolute paths, as systemd wants),
with ``Restart=on-failure``; OVS/OVN daemons as ``Type=forking`` with their ``PIDFile=``, ovnet's
own services as ``Type=simple`` writing the pidfile ``ovnet status`` reads. What ``up`` does
around a start or stop (create a DB file, configure br-int, ``ovn-appctl exit``) runs through
``python -m ovnet.runtime.unithooks`` as ``ExecStartPre=``/``ExecStop=``. Ordering: each unit is
``After=`` every unit before it in ``up``'s start order and ``Requires=`` the daemons it cannot
work without (ovn-northd the two DBs, ovs-vswitchd its ovsdb-server, ovn-controller ovs-vswitchd).
Pure text; writing the files is the caller's job.
"""

from __future__ import annotations

import shutil
import sys

from ovnet.config import Settings
from ovnet.runtime.roles import role_services

TARGET = "ovnet.target"
REQUIRES = {"ovn-northd": ("ovsdb-nb", "ovsdb-sb"), "ovs-vswitchd": ("ovsdb-local",),
            "ovn-controller": ("ovs-vswitchd",), "ovnet-agent": ("ovn-controller",)}


def unit_name(service: str) -> str:
    """``ovnet-<service>.service`` ("ovnet-server" stays "ovnet-server.service")."""
    return f"{service if service.startswith('ovnet-') else 'ovnet-' + service}.service"


def quote(arg: str) -> str:
    """One argument in systemd's command-line syntax: ``%`` and ``$`` escaped (no specifier or
    variable expansion), double quotes around anything with a space, quote or backslash."""
    arg = arg.replace("%", "%%").replace("$", "$$")
    if any(c in arg for c in ' "\\\'\t'):
        return '"' + arg.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return arg


def _command(argv: list[str]) -> str:
    binary = argv[0] if argv[0].startswith("/") else (shutil.which(argv[0]) or f"/usr/bin/{argv[0]}")
    return " ".join(quote(a) for a in [binary, *argv[1:]])


def _hook(settings: Settings, role: str, action: str, service: str, *extra: str) -> str:
    argv = [sys.executable, "-m", "ovnet.runtime.unithooks", "--state-dir", str(settings.state_dir),
            "--role", role, action, service]
    return " ".join([*(quote(a) for a in argv), *extra])


def render(settings: Settings, role: str) -> dict[str, str]:
    """{file name: content} of the units of ``role``: one per service and ``ovnet.target``."""
    services = role_services(settings, role)
    names = [s.name for s in services]
    units: dict[str, str] = {}
    for index, svc in enumerate(services):
        earlier = [unit_name(n) for n in names[:index]]
        needs = [unit_name(n) for n in REQUIRES.get(svc.name, ()) if n in names]
        env = {k: v for k, v in (svc.env or {}).items() if k.startswith(("OVS_", "OVN_"))}
        lines = ["[Unit]", f"Description=ovnet {svc.name} ({role}); log {svc.log}", f"PartOf={TARGET}", f"After={' '.join(['network-online.target', *earlier])}",
                 "Wants=network-online.target"]
        if needs:
            lines.append(f"Requires={' '.join(needs)}")
        lines += ["", "[Service]"]
        lines += [f"Environment={quote(f'{k}={v}')}" for k, v in sorted(env.items())]
        lines.append(f"ExecStartPre={_hook(settings, role, 'before', svc.name)}")
        if svc.detaches:
            lines += ["Type=forking", f"PIDFile={svc.pidfile}", f"ExecStart={_command(svc.argv)}"]
        else:
            lines += ["Type=simple", f"ExecStart={_command(svc.argv)}",
                      # ${MAINPID}: systemd substitutes it inside the word; sh sees the number.
                      f'ExecStartPost=/bin/sh -c "echo ${{MAINPID}} > {quote(str(svc.pidfile))}"',
                      f"StandardOutput=append:{svc.log}", "StandardError=inherit"]
        if svc.before_stop is not None:
            lines.append(f"ExecStop={_hook(settings, role, 'before-stop', svc.name, '$MAINPID')}")
        lines += [f"ExecStopPost=/bin/rm -f {quote(str(svc.pidfile))}", "Restart=on-failure", "RestartSec=2s",
                  f"TimeoutStartSec={int(svc.start_timeout) + 30}", "", "[Install]", f"WantedBy={TARGET}", ""]
        units[unit_name(svc.name)] = "\n".join(lines)
    units[TARGET] = "\n".join([
        "[Unit]", f"Description=ovnet ({role}): {', '.join(names)}", f"Wants={' '.join(map(unit_name, names))}",
        f"After={' '.join(map(unit_name, names))}", "", "[Install]", "WantedBy=multi-user.target", ""])
    return units
