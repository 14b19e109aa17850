"""A real ovnet-server process (``python -m ovnet.server``) on a free loopback port, stopped by pid.

``endpoint`` is what the acceptance tests drive. It runs the server without the OVN syncer
(``--no-sync``) and its ``nb_check`` is None. To check NB rows after each step, add a fixture
variant that starts the whole all-in-one (the ``allinone`` fixture of tests/conftest.py) and
sets ``nb_check(kind, resource_id, shown)`` — ``shown`` is the resource as the API shows it, or
None after a delete — to a function that looks the rows up in NB and asserts.
"""

from __future__ import annotations

import pytest

from ovnet.config import CLOUDS_FILE
from ovnet.runtime.process import free_port
from tests.helpers.apiserver import ServerProcess
from tests.helpers.endpoint import Endpoint


@pytest.fixture
def server_process(tmp_path):
    """A started ServerProcess in tmp_path/state; yields (process, settings)."""
    server = ServerProcess(tmp_path / "state", free_port())
    try:
        yield server, server.start()
    finally:
        server.stop()


@pytest.fixture
def endpoint(server_process) -> Endpoint:
    _, settings = server_process
    token = settings.admin_token_file.read_text().strip()
    return Endpoint(settings, token, settings.state_dir / CLOUDS_FILE)


@pytest.fixture(params=["api", pytest.param("nb", marks=[pytest.mark.ovn, pytest.mark.root])])
def lifecycle_endpoint(request):
    """The API alone, then the all-in-one where every step is also checked in OVN NB."""
    return request.getfixturevalue("endpoint" if request.param == "api" else "nb_endpoint")
