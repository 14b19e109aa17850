"""Property-based requests from the app's own OpenAPI document (schemathesis): no 500, ever, and
every status code answered is one the document lists for that operation (status_code_conformance;
request bodies are generated from the documented attribute tables, see ovnet.api.openapi).

Bounded and seeded (derandomized hypothesis), so a CI run is repeatable: every operation gets
MAX_EXAMPLES generated requests (paths, query strings, headers) with an admin token, on SQLite
(the embedded default), against a store holding a network, subnet and port so that filters and
ids meet real rows.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error, status_code_conformance

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
            case.validate_response(response, checks=[not_a_server_error, status_code_conformance])

        try:
            run()
        except Exception as exc:  # noqa: BLE001 - collect every operation's failure, then report all
            failures.append(f"{operation.verbose_name}: {type(exc).__name__}: {str(exc)[:300]}")
    assert not failures, "\n".join(failures)


def test_the_document_lists_real_codes_and_request_bodies(store):
    """The OpenAPI document names the status codes the routes answer (no FastAPI 422, which
    ovnet answers as 400) and the request bodies built from the attribute tables."""
    doc = create_app(store, defaults=Defaults()).openapi()
    create = doc["paths"]["/v2.0/ports"]["post"]
    assert set(create["responses"]) == {"201", "400", "401", "403", "404", "409", "413"}
    body = create["requestBody"]["content"]["application/json"]["schema"]["oneOf"][0]["properties"]["port"]
    assert body["required"] == ["network_id"] and body["properties"]["admin_state_up"] == {"type": "boolean"}
    assert "id" not in body["properties"] and "status" not in body["properties"]
    update = doc["paths"]["/v2.0/subnets/{resource_id}"]["put"]["requestBody"]["content"]["application/json"]
    assert "cidr" not in update["schema"]["properties"]["subnet"]["properties"]
    assert set(doc["paths"]["/v2.0/networks/{resource_id}"]["delete"]["responses"]) == {
        "204", "400", "401", "403", "404", "409", "412"}
    assert not [p for p, ops in doc["paths"].items() for op in ops.values() if "422" in op["responses"]]
    assert "/v2.0/address-scopes" in doc["paths"] and "/v2.0/rbac-policies" in doc["paths"]
