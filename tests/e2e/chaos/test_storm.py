"""The short fault storm (issue 15): 20 SIGKILLs of random daemons on two hypervisors while ports,
networks, namespaces, taps and Docker containers come and go; after one reconcile interval
``ovnet check`` finds nothing, every ACTIVE port answers, Docker and the API agree, and every 2xx
answer is reflected. bench/chaos.py runs the long one (200 kills)."""

from __future__ import annotations

import os
import random

import pytest

from tests.helpers.storm import Storm

pytestmark = [pytest.mark.root, pytest.mark.ovn, pytest.mark.docker]
KILLS = 20


def test_twenty_kills_leave_nothing_inconsistent(tmp_path):
    # A fixed seed by default, so a failure names a workload to replay (the kill moments still
    # fall where the machine's load puts them); OVNET_STORM_SEED=random explores.
    chosen = os.environ.get("OVNET_STORM_SEED", "1")
    seed = random.randrange(1 << 30) if chosen == "random" else int(chosen)
    storm = Storm(tmp_path, seed)
    try:
        storm.start()
        report = storm.run(KILLS)
    finally:
        storm.destroy()
    print("\n" + "\n".join(report.lines()))
    assert sum(report.kills.values()) == KILLS, report.lines()
    assert report.findings == [], "\n".join(report.lines())
