"""Which port statuses the reconcile calls drift (ovnet.ovn.syncer._status_drift), on plain data."""

from __future__ import annotations

from ovnet.ovn.syncer import _status_drift
from ovnet.ovn.translate import LSP


def test_an_administratively_down_port_is_not_drift_whatever_lsp_up_says():
    ports = [{"id": "off-up", "admin_state_up": False, "status": "DOWN"},
             {"id": "off-down", "admin_state_up": False, "status": "DOWN"},
             {"id": "on-stale-down", "admin_state_up": True, "status": "DOWN"},
             {"id": "on-stale-up", "admin_state_up": True, "status": "ACTIVE"},
             {"id": "on-right", "admin_state_up": True, "status": "ACTIVE"},
             {"id": "not-synced", "admin_state_up": True, "status": "DOWN"}]
    desired = {LSP: {p["id"]: {} for p in ports if p["id"] != "not-synced"}}
    up = {"off-up": True, "off-down": False, "on-stale-down": True, "on-stale-up": False, "on-right": True,
          "not-synced": True}
    assert _status_drift({"ports": ports}, desired, up) == [("on-stale-down", "DOWN", "ACTIVE"),
                                                          ("on-stale-up", "ACTIVE", "DOWN")]
