"""Clean-ups that other packages add to ``ovnet down`` and ``ovnet host remove``, without the
runtime or the CLI naming them.

A package registers a function ``hook(settings) -> list[str]`` (what it stopped, for the progress
lines) under the Python entry point group ``ovnet.down`` in its pyproject.toml; ``run_down_hooks``
calls every registered hook, in the order of their entry point names, before ``ovnet down`` stops
any service. The test bed registers the demo's dockerd and its QEMU VMs this way (QEMU runs
detached: nothing else would stop it), so the product depends on the test bed in no direction.
Likewise ``hook(settings, host) -> list[str]`` under ``ovnet.host_remove`` runs before a host is
removed (``ovnet host remove``, ``ovnet demo --clean``): the test bed stops the QEMU VMs running
on it, which would otherwise outlive their host's bridge and still be listed on it, and the demo's
dockerd and Podman containers whose plugin or CNI agent is that host's.
Entry points are read from the installed package's metadata (``pip install -e .``, ``make venv``).
"""

from __future__ import annotations

from importlib.metadata import entry_points

from ovnet.config import Settings

GROUP = "ovnet.down"
HOST_GROUP = "ovnet.host_remove"


def run_down_hooks(settings: Settings) -> list[str]:
    """Run every ``ovnet.down`` hook for the installation of ``settings``; return what they
    stopped, in order. An exception of a hook propagates (``ovnet down`` reports it)."""
    return _run(GROUP, settings)


def run_host_remove_hooks(settings: Settings, host: str) -> list[str]:
    """Run every ``ovnet.host_remove`` hook for hypervisor ``host`` (a chassis name) of the
    installation of ``settings``, before it is removed; return what they stopped, in order. An
    exception of a hook propagates (the caller then keeps the host)."""
    return _run(HOST_GROUP, settings, host)


def _run(group: str, *args: object) -> list[str]:
    stopped: list[str] = []
    for hook in sorted(entry_points(group=group), key=lambda ep: ep.name):
        stopped.extend(hook.load()(*args))
    return stopped
