"""Shared fixtures: a whole ovnet all-in-one in a temporary state dir, torn down even on failure."""

from __future__ import annotations

import secrets
from contextlib import contextmanager

import pytest

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


@pytest.fixture
def allinone_settings(tmp_path):
    """Settings of a private all-in-one that is NOT started; down(purge) runs at teardown anyway."""
    settings = private_settings(tmp_path)
    yield settings
    aio.down(settings, purge=True)


@pytest.fixture
def allinone(allinone_settings):
    """A running private all-in-one (OVN central, one chassis, ovnet services); yields its Settings."""
    aio.up(allinone_settings)
    return allinone_settings
