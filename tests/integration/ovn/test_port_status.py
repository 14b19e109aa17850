"""Port status follows Logical_Switch_Port.up end to end: ovnet-server's syncer, ovn-northd and
ovn-controller of the all-in-one, and an OVS internal port bound with external_ids:iface-id."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import time

import pytest

from ovnet.apiclient import ApiClient
from tests.helpers.hostnet import wait_status

pytestmark = [pytest.mark.ovn, pytest.mark.root]


def vsctl(settings, *args: str) -> str:
    done = subprocess.run(["ovs-vsctl", f"--db=unix:{settings.ovs_db_sock}", "--timeout=10", *args],
                          capture_output=True, text=True, check=True)
    return done.stdout.strip()


def sync_check(settings) -> tuple[int, str]:
    """``ovnet sync --check``'s exit status and report."""
    env = dict(os.environ, OVNET_SQL_URL=settings.sql_url)
    done = subprocess.run([sys.executable, "-m", "ovnet.cli.main", "sync", "--check", "--state-dir",
                           str(settings.state_dir)], capture_output=True, text=True, env=env, timeout=120)
    return done.returncode, done.stdout.strip()


def test_port_goes_active_when_bound_down_when_disabled_or_unbound(allinone):
    with ApiClient.from_settings(allinone) as api:
        net = api.create_network(name="status")
        api.create_subnet(network_id=net["id"], cidr="10.77.0.0/24", ip_version=4)
        port = api.create_port(network_id=net["id"], **{"binding:host_id": allinone.chassis_name})
        assert port["status"] == "DOWN"
        iface = f"ovst{secrets.token_hex(4)}"
        vsctl(allinone, "add-port", allinone.bridge, iface, "--", "set", "Interface", iface, "type=internal",
              f"external_ids:iface-id={port['id']}", f"external_ids:attached-mac={port['mac_address']}")
        try:
            started = time.monotonic()
            assert wait_status(api, port["id"], "ACTIVE", 30.0) == "ACTIVE"
            print(f"port ACTIVE {time.monotonic() - started:.2f} s after the OVS port was added")
            # Administratively down: DOWN in the answer itself, whatever OVN says, and no drift for
            # the reconcile to "repair"; enabled again: what OVN says at once (its up never changed).
            assert api.update_port(port["id"], admin_state_up=False)["status"] == "DOWN"
            assert sync_check(allinone) == (0, "NB is in sync")
            assert [p["id"] for p in api.list_ports(status="DOWN")] == [port["id"]]
            assert api.update_port(port["id"], admin_state_up=True)["status"] == "ACTIVE"
        finally:
            vsctl(allinone, "--if-exists", "del-port", allinone.bridge, iface)
        assert wait_status(api, port["id"], "DOWN", 30.0) == "DOWN"
        api.delete_port(port["id"])
