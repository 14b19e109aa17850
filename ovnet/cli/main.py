"""The ``ovnet`` command: a dispatcher over the command modules of ``ovnet.cli``, which call the
runtime library, the API client and the agent.

A command's module is imported only when that command runs, or when a help or a completion lists
it. Importing every module up front cost each invocation ~0.5 s of CPU (pyroute2, httpx, the
agent's and the test bed's modules), a sixth of ``ovnet sync --check`` over 10,000 ports
(issue 15), and a command uses only its own.
"""

from __future__ import annotations

import functools
import importlib
import sys
from collections.abc import Iterator, Mapping
from typing import Any

import typer
from rich.console import Console
from typer.core import TyperGroup

from ovnet.config import SettingsError
from ovnet.credentials import TokenError

# ``ovnet NAME`` -> (module, attribute), in the order ``ovnet --help`` lists them: a function is one
# command, a typer.Typer a group of commands.
COMMANDS: dict[str, tuple[str, str]] = {
    "up": ("ovnet.cli.lifecycle", "up"),
    "status": ("ovnet.cli.lifecycle", "status"),
    "down": ("ovnet.cli.lifecycle", "down"),
    "sync": ("ovnet.cli.sync", "sync"),
    "check": ("ovnet.cli.check", "check"),
    "backup": ("ovnet.cli.backup", "backup"),
    "restore": ("ovnet.cli.backup", "restore"),
    "trace": ("ovnet.cli.trace", "trace_command"),
    "install-units": ("ovnet.cli.units", "install_units"),
    "demo": ("ovnet.cli.demo", "demo"),
    "project": ("ovnet.cli.project", "app"),
    "host": ("ovnet.cli.host", "app"),
    "port": ("ovnet.cli.port", "app"),
    "cni": ("ovnet.cli.cni", "app"),
    "vm": ("ovnet.cli.vm", "app"),
}
# Commands of a group that live in another module: (group, name) -> (module, attribute).
# ``port libvirt-xml`` reads the test bed's hypervisor records, which only the test bed's front-ends
# (ovnet.cli.vm) may import, not ovnet.cli.port.
GRAFTED: dict[tuple[str, str], tuple[str, str]] = {("port", "libvirt-xml"): ("ovnet.cli.vm", "libvirt_xml")}

err = Console(stderr=True, width=None if sys.stderr.isatty() else 200)


def _attribute(spec: tuple[str, str]) -> Any:
    module, name = spec
    return getattr(importlib.import_module(module), name)


@functools.cache
def load_command(name: str) -> Any:
    """The click command of ``ovnet NAME`` (a group for a command group), built by typer exactly as
    ``Typer.command(NAME)`` / ``Typer.add_typer(..., name=NAME)`` build it, its module imported on
    the first call. Raises KeyError for a name not in COMMANDS."""
    target = _attribute(COMMANDS[name])
    holder = typer.Typer()
    if isinstance(target, typer.Typer):
        for (group, command), spec in GRAFTED.items():
            if group == name:
                target.command(command)(_attribute(spec))
        holder.add_typer(target, name=name)
    else:
        holder.command(name)(target)
    return typer.main.get_group(holder).commands[name]


class _Commands(Mapping):
    """COMMANDS as the {name: click command} mapping a TyperGroup holds, each loaded on lookup."""

    def __getitem__(self, name: str) -> Any:
        if name not in COMMANDS:
            raise KeyError(name)
        return load_command(name)

    def __iter__(self) -> Iterator[str]:
        return iter(COMMANDS)

    def __len__(self) -> int:
        return len(COMMANDS)


class LazyGroup(TyperGroup):
    """The root command group: its subcommands are COMMANDS, each imported when looked up."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.commands = _Commands()

    def list_commands(self, ctx: Any) -> list[str]:
        """Every command name, without loading any (TyperGroup's own reads every command)."""
        return list(COMMANDS)


app = typer.Typer(cls=LazyGroup,
                  help="ovnet: one virtual network for containers and VMs, over OVN.",
                  epilog="Example: ovnet up && ovnet demo --keep, then open http://127.0.0.1:9696/ui "
                         "(token: /var/lib/ovnet/admin-token) and curl http://127.0.0.1:9696/metrics.  "
                         "Exit status: 0 done, 2 usage error (a malformed argument, told before anything is "
                         "asked), 1 refused or failed; check, sync and trace document their own.",
                  no_args_is_help=True,
                  pretty_exceptions_enable=False)


@app.callback()
def _root() -> None:
    # Typer makes a group of an app only when it has a callback or several commands; the commands
    # here are added by LazyGroup, so this empty callback is what makes ``ovnet`` a group.
    pass


def main() -> None:
    """The ``ovnet`` console script: the typer app, with unusable settings or an unusable token
    (wherever a command meets them) reported in one line, exit 2 as for a usage error."""
    try:
        app()
    except (SettingsError, TokenError) as exc:
        err.print(f"[red]error:[/] {exc}")
        raise SystemExit(2) from None


if __name__ == "__main__":
    main()
