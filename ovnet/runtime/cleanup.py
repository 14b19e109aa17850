"""Clean-ups that other packages add to ``ovnet down``, without the runtime or the CLI naming them.

A package registers a function ``hook(settings) -> list[str]`` (what it stopped, for the progress
lines) under the Python entry point group ``ovnet.down`` in its pyproject.toml; ``run_down_hooks``
calls every registered hook, in the order of their entry point names, before ``ovnet down`` stops
any service. The test bed registers the demo's dockerd and its QEMU VMs this way (QEMU runs
detached: nothing else would stop it), so the product depends on the test bed in no direction.
Entry points are read from the installed package's metadata (``pip install -e .``, ``make venv``).
"""

from __future__ import annotations

from importlib.metadata import entry_points

from ovnet.config import Settings

GROUP = "ovnet.down"


def run_down_hooks(settings: Settings) -> list[str]:
    """Run every ``ovnet.down`` hook for the installation of ``settings``; return what they
    stopped, in order. An exception of a hook propagates (``ovnet down`` reports it)."""
    stopped: list[str] = []
    for hook in sorted(entry_points(group=GROUP), key=lambda ep: ep.name):
        stopped.extend(hook.load()(settings))
    return stopped
