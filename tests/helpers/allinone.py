"""A private ovnet all-in-one for a test: its Settings, and a context manager that runs it."""

from __future__ import annotations

import secrets
from contextlib import contextmanager

from ovnet.config import Settings
from ovnet.runtime import allinone as aio
from ovnet.runtime.process import free_port


def private_settings(tmp_path, **overrides) -> Settings:
    """Settings for a private all-in-one: state under tmp_path, free loopback ports, and an
    ovs-vswitchd in its own network namespace so its kernel devices never clash with another's."""
    tag = secrets.token_hex(3)
    values = dict(state_dir=tmp_path / "state", nb_port=free_port(), sb_port=free_port(),
                  api_port=free_port(), chassis_name=f"ovt-{tag}", netns=f"ovt-{tag}",
                  docker_plugin=f"ovt-{tag}",  # never the shared /run/docker/plugins/ovnet.sock
                  public_netns=f"ovt-pub-{tag}")  # never the machine's ovnet-public
    values.update(overrides)
    return Settings(**values)


@contextmanager
def running_allinone(tmp_path, **overrides):
    """A private all-in-one started with ``private_settings(tmp_path, **overrides)``; yields its
    Settings and runs down(purge) on exit, also when starting it failed half-way."""
    settings = private_settings(tmp_path, **overrides)
    try:
        aio.up(settings)
        yield settings
    finally:
        aio.down(settings, purge=True)
