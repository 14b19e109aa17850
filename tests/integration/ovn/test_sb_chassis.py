"""The SB chassis replica: chassis and their physical networks as ovn-controller writes them."""

from __future__ import annotations

import subprocess

import pytest

from ovnet.config import Settings
from ovnet.ovn.sb import ChassisWatcher, physical_networks
from tests.helpers.wait import wait_for

pytestmark = [pytest.mark.ovn]


def sbctl(settings: Settings, *args: str) -> None:
    subprocess.run(["ovn-sbctl", f"--db={settings.sb_connection}", *args], check=True, capture_output=True)


def test_physical_networks_of_a_mapping():
    assert physical_networks("public:br-ex, phys2:br-2,broken") == ["phys2", "public"]
    assert physical_networks("") == []


def test_chassis_and_their_mappings_follow_sb(sb_settings):
    sb = sb_settings
    changes = []
    watcher = ChassisWatcher(sb.sb_connection, on_change=lambda: changes.append(1))
    watcher.start()
    try:
        sbctl(sb, "chassis-add", "hv1", "geneve", "127.0.0.1")
        sbctl(sb, "set", "Chassis", "hv1", "other_config:ovn-bridge-mappings=public:br-ex")
        sbctl(sb, "chassis-add", "hv2", "geneve", "127.0.0.2")
        want = [{"id": "hv1", "physical_networks": ["public"]}, {"id": "hv2", "physical_networks": []}]
        assert wait_for(lambda: watcher.chassis() == want), watcher.chassis()
        seen = len(changes)
        sbctl(sb, "chassis-del", "hv2")
        assert wait_for(lambda: watcher.chassis() == want[:1]), watcher.chassis()
        assert len(changes) > seen
    finally:
        watcher.stop()
