"""Fixtures of the integration tier shared across its directories."""

from __future__ import annotations

import pytest

from ovnet.config import CLOUDS_FILE
from tests.helpers.endpoint import Endpoint
from tests.helpers.nbcheck import NbRows


@pytest.fixture
def nb_endpoint(allinone) -> Endpoint:
    """The all-in-one's ovnet-server (with its syncer) as an acceptance endpoint that checks NB."""
    return Endpoint(allinone, allinone.admin_token_file.read_text().strip(), allinone.state_dir / CLOUDS_FILE,
                    nb_check=NbRows(allinone.nb_connection).check)
