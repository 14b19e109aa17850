"""The agent while the API is away: one log line per failed periodic reconcile, no traceback."""

from __future__ import annotations

import time

import pytest

from ovnet.runtime import allinone as aio
from tests.helpers.allinone import running_allinone

pytestmark = [pytest.mark.root, pytest.mark.ovn]


@pytest.fixture
def fast_sync_allinone(tmp_path):
    with running_allinone(tmp_path, agent_sync_interval=0.5) as settings:
        yield settings


def test_api_down_logs_one_line_per_failed_reconcile(fast_sync_allinone):
    services = {s.name: s for s in aio.services(fast_sync_allinone)}
    log = services["ovnet-agent"].log
    services["ovnet-server"].stop()
    start = log.stat().st_size
    time.sleep(3.0)  # about six periodic rounds
    with open(log) as handle:
        handle.seek(start)
        lines = handle.read().splitlines()
    failures = [line for line in lines if "periodic reconcile failed" in line]
    assert len(failures) >= 2, lines
    assert all("ConnectError" in line for line in failures), failures
    assert not [line for line in lines if "Traceback" in line or line.startswith((" ", "httpx", "httpcore"))], lines
