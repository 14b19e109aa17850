"""The topology page's files and GET /metrics, through the app (no browser: tests/e2e/ui does that)."""

from __future__ import annotations

import pytest
from prometheus_client.parser import text_string_to_metric_families


def _samples(text: str) -> dict:
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def test_ui_page_is_served_with_a_strict_policy_and_its_files_are_local(client):
    page = client.get("/ui")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    policy = page.headers["content-security-policy"]
    assert "default-src 'self'" in policy and "script-src" not in policy  # scripts from this server only
    assert "http" not in page.text.replace("http-equiv", "")  # no CDN, no external URL
    for path in ("/ui/static/topology.js", "/ui/static/style.css", "/ui/static/vendor/cytoscape.min.js",
                 "/ui/static/vendor/cytoscape.LICENSE"):
        assert client.get(path).status_code == 200, path
    script = client.get("/ui/static/topology.js").text
    assert "sessionStorage" in script and "X-Auth-Token" in script
    assert "location.search" not in script and "?token" not in script  # the token never goes in a URL


@pytest.mark.dialect
def test_metrics_count_requests_by_route_template_and_ports_by_status(client, alice):
    def scrape() -> dict:
        answer = client.get("/metrics")
        assert answer.status_code == 200
        return _samples(answer.text)

    route = frozenset({"method": "GET", "route": "/v2.0/networks/{resource_id}", "status": "200"}.items())
    before = scrape()
    net = alice.network()
    alice.get(f"/v2.0/networks/{net['id']}")
    alice.get(f"/v2.0/networks/{net['id']}")
    alice.port(net["id"])
    after = scrape()
    key = ("ovnet_api_request_duration_seconds_count", route)
    assert after[key] == before.get(key, 0) + 2
    assert after[("ovnet_ports", frozenset({"status": "DOWN"}.items()))] == 1
    assert after[("ovnet_outbox_depth", frozenset())] >= 2  # no syncer here: the changes wait
    assert after[("ovnet_outbox_oldest_age_seconds", frozenset())] >= 0
    assert not any(name.startswith("ovnet_api") and net["id"] in str(labels) for name, labels in after)
