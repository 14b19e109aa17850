"""ovnet-server's garbage-collector tuning (server.tune_gc), run in a child interpreter so that
the test process keeps its own collector settings."""

from __future__ import annotations

import subprocess
import sys

CHILD = """
import gc
from ovnet import server
before = gc.get_freeze_count()
server.tune_gc()
print(gc.get_threshold()[0], before, gc.get_freeze_count(), gc.isenabled())
"""


def test_start_up_objects_are_frozen_and_young_collections_are_rarer():
    out = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True, check=True).stdout.split()
    from ovnet.server import GC_YOUNG_THRESHOLD

    young, before, after, tracking = out
    assert int(young) == GC_YOUNG_THRESHOLD > 700  # CPython's default is 700
    assert int(before) == 0 and int(after) > 1000  # the imported modules and their objects
    assert tracking == "True"  # the collector still runs for what comes after start-up
