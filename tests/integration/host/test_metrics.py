"""GET /metrics of ovnet-server and of the host agent (its socket and its TCP port) on a real
all-in-one: the values move when work is done (requests, NB applies, binds, a failed bind, a
libnetwork call, a reconcile repairing a Logical_Switch_Port deleted behind ovnet's back)."""

from __future__ import annotations

import subprocess

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from ovnet.apiclient import ApiClient, ApiError
from ovnet.host.agentclient import AgentClient
from ovnet.runtime.process import free_port
from tests.helpers.allinone import running_allinone
from tests.helpers.hostnet import ApiNetwork, wait_status
from tests.helpers.wait import wait_for

pytestmark = [pytest.mark.root, pytest.mark.ovn]


def samples(text: str) -> dict[tuple[str, frozenset], float]:
    """{(sample name, frozenset of label items): value} of a Prometheus text page."""
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def value(page: dict, name: str, **labels: str) -> float:
    """The sample ``name`` with exactly ``labels`` (0.0 when absent: a counter not yet touched)."""
    return page.get((name, frozenset(labels.items())), 0.0)


def scrape_until(scrape, check, timeout: float = 20.0) -> dict:
    """Scrape until ``check(page)`` holds; returns that page (or the last one, for the assert)."""
    pages: list[dict] = []
    wait_for(lambda: check(pages.append(scrape()) or pages[-1]), timeout, interval=0.2)
    return pages[-1]


def test_server_and_agent_metrics_move_with_work(tmp_path, make_netns):
    port_no = free_port()
    with running_allinone(tmp_path, agent_sync_interval=3600.0, sync_interval=2.0,
                          agent_metrics_port=port_no) as settings:
        sock = settings.agent_socket
        api_http = httpx.Client(base_url=settings.api_url, timeout=10)
        agent_http = httpx.Client(transport=httpx.HTTPTransport(uds=str(sock)), base_url="http://agent", timeout=10)

        def server() -> dict:
            answer = api_http.get("/metrics")
            assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/plain")
            return samples(answer.text)

        def agent() -> dict:
            return samples(agent_http.get("/metrics").text)

        before = scrape_until(server, lambda p: value(p, "ovnet_nb_connected") == 1.0)
        assert value(before, "ovnet_nb_connected") == 1.0
        assert value(before, "ovnet_reconcile_duration_seconds_count") >= 1  # the start-up reconcile
        assert value(before, "ovnet_ports", status="ACTIVE") == 0
        agent_before = scrape_until(agent, lambda p: value(p, "ovnet_sb_connected") == 1.0)
        assert value(agent_before, "ovnet_sb_connected") == 1.0
        tcp = samples(httpx.get(f"http://{settings.listen_host}:{port_no}/metrics", timeout=10).text)
        assert value(tcp, "ovnet_sb_connected") == 1.0

        with ApiClient.from_settings(settings) as api, AgentClient(sock) as client:
            net = ApiNetwork(api, "10.86.0")
            port = net.port(10)
            after_create = server()
            created = value(after_create, "ovnet_api_request_duration_seconds_count",
                            method="POST", route="/v2.0/ports", status="201")
            assert created == value(before, "ovnet_api_request_duration_seconds_count",
                                    method="POST", route="/v2.0/ports", status="201") + 1
            assert value(after_create, "ovnet_nb_apply_batch_size_count") > value(before, "ovnet_nb_apply_batch_size_count")
            assert value(after_create, "ovnet_outbox_depth") == 0  # the API answered after NB confirmed
            assert value(after_create, "ovnet_ports", status="DOWN") == 1

            client.bind(port["id"], "veth", make_netns())
            assert wait_status(api, port["id"], "ACTIVE") == "ACTIVE"
            with pytest.raises(ApiError):
                client.bind("00000000-0000-0000-0000-000000000000", "veth", make_netns())
            bound = agent()
            assert value(bound, "ovnet_agent_binds_total", kind="veth", result="ok") == 1
            assert value(bound, "ovnet_agent_bind_duration_seconds_count", kind="veth") == 1
            assert value(bound, "ovnet_agent_bind_duration_seconds_sum", kind="veth") > 0
            assert value(bound, "ovnet_agent_binds_total", kind="veth", result="error") == 1
            assert value(bound, "ovnet_agent_bind_failures_total", op="bind", reason="NotFound") == 1
            assert value(server(), "ovnet_ports", status="ACTIVE") == 1

            plugin = httpx.Client(transport=httpx.HTTPTransport(uds=str(settings.docker_plugin_socket)),
                                  base_url="http://plugin", timeout=10)
            assert plugin.post("/NetworkDriver.GetCapabilities", content=b"{}").status_code == 200
            assert value(agent(), "ovnet_docker_requests_total", verb="NetworkDriver.GetCapabilities",
                         result="ok") == 1

            # A CNI request (STATUS: is the plugin ready?) is counted by verb and result.
            admin_token = settings.admin_token_file.read_text().strip()
            agent_http.post("/cni/status", headers={"X-Auth-Token": admin_token},
                            json={"env": {"CNI_COMMAND": "STATUS"},
                                  "config": {"cniVersion": "1.1.0", "name": "n", "type": "ovnet"}})
            counted = agent()
            assert sum(value(counted, "ovnet_cni_requests_total", verb="STATUS", result=r) for r in ("ok", "error")) == 1

            client.unbind(port["id"])
            assert value(agent(), "ovnet_agent_unbinds_total", result="ok") == 1

            # A port's NB row deleted behind ovnet's back: the periodic reconcile (2 s) recreates it.
            subprocess.run(["ovn-nbctl", f"--db={settings.nb_connection}", "lsp-del", port["id"]], check=True, timeout=20)
            repaired = scrape_until(server, lambda p: value(p, "ovnet_reconcile_repairs_total", op="create",
                                                        table="Logical_Switch_Port") >= 1, timeout=30)
            assert value(repaired, "ovnet_reconcile_repairs_total", op="create", table="Logical_Switch_Port") >= 1
        plugin.close()
        api_http.close()
        agent_http.close()
