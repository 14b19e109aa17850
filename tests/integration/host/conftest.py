"""Fixtures for the host side: the all-in-one with a slow periodic reconcile, and this chassis'
OVS as a plugging HostContext. The API/agent clients and workload namespaces are tests/conftest.py's."""

from __future__ import annotations

import pytest

from ovnet.host.attach import AttachService
from ovnet.host.ovs import LocalOvs
from ovnet.host.vif import HostContext
from ovnet.runtime import allinone as aio
from tests.helpers.allinone import private_settings


@pytest.fixture
def allinone_settings(tmp_path):
    """The all-in-one of the host tests, with the agent's periodic reconcile an hour apart: a test's
    own POST /reconcile then meets exactly the drift it made (tests of the periodic round make an
    all-in-one of their own); so is its sweep of unclaimed Docker IPAM ports. down(purge) runs at
    teardown."""
    settings = private_settings(tmp_path, agent_sync_interval=3600.0, docker_ipam_grace_period=3600.0)
    yield settings
    aio.down(settings, purge=True)


@pytest.fixture
def host(allinone):
    """A HostContext on the all-in-one's chassis (br-int in settings.netns)."""
    ovs = LocalOvs(allinone.ovs_db_sock, allinone.bridge)
    try:
        yield HostContext(ovs=ovs, netns=allinone.netns, datapath=ovs.datapath_type())
    finally:
        ovs.close()


@pytest.fixture
def attach(host, api, allinone):
    """An AttachService of the all-in-one's chassis, beside its agent's (the tests' own binds)."""
    return AttachService(host, api, allinone.chassis_name, allinone.bind_timeout)
