"""The agent while the API is away: one log line per failed periodic reconcile, no traceback."""

from __future__ import annotations

import time
import uuid

import pytest

from ovnet.apiclient import ApiError
from ovnet.host.agentclient import AgentClient
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


def test_a_bind_while_the_api_is_down_is_a_503_naming_the_api(fast_sync_allinone):
    # Seen in the fault storm: the agent answered 500 with a traceback in its log.
    services = {s.name: s for s in aio.services(fast_sync_allinone)}
    services["ovnet-server"].stop()
    with AgentClient(fast_sync_allinone.agent_socket) as agent:
        with pytest.raises(ApiError) as refused:
            agent.bind(str(uuid.uuid4()), "veth", "nowhere")
    assert refused.value.status == 503
    assert refused.value.type == "ServiceUnavailable"
    assert "the ovnet API is not reachable" in refused.value.message
    log = services["ovnet-agent"].log.read_text()
    assert "Exception in ASGI application" not in log
