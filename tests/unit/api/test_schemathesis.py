"""Property-based requests from the app's own OpenAPI document (schemathesis): no 500, ever.

Bounded and seeded (derandomized hypothesis), so a CI run is repeatable: every operation gets
MAX_EXAMPLES generated requests (paths, query strings, headers) with an admin token, on SQLite
(the embedded default), against a store holding a network, subnet and port so that filters and
ids meet real rows.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

from ovnet.api.app import create_app
from ovnet.model.common import Defaults
from ovnet.model.tenancy import get_or_create_project, issue_token
from tests.unit.api.conftest import Caller, TestClient

MAX_EXAMPLES = 30


def test_no_server_errors(store):
    if "sqlite" not in store.url:
        pytest.skip("one engine is enough for the fuzzing run: SQLite, the embedded default")
    app = create_app(store, defaults=Defaults())

    def work(session):
        return issue_token(session, get_or_create_project(session, "admin").id, "admin")
    token = store.run(work)
    with TestClient(app) as client:
        admin = Caller(client, token, "")
        net = admin.network(name="n", tags=["t"])
        admin.subnet(net["id"], "10.0.0.0/24")
        admin.port(net["id"])
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    failures = []
    for result in schema.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy())
        @settings(max_examples=MAX_EXAMPLES, derandomize=True, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        def run(case):
            response = case.call(headers={"X-Auth-Token": token})
            if response.status_code >= 500:
                failures.append(f"{case.method} {case.formatted_path} {case.query} -> {response.status_code}")
            case.validate_response(response, checks=[not_a_server_error])

        try:
            run()
        except Exception as exc:  # noqa: BLE001 - collect every operation's failure, then report all
            failures.append(f"{operation.verbose_name}: {type(exc).__name__}: {str(exc)[:300]}")
    assert not failures, "\n".join(failures)
