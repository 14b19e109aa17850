"""The topology page (/ui) in a real headless chromium: the seed picture (two projects with the
same addresses) built through the API with each project's token on a real all-in-one, some of
its ports bound for real (ACTIVE); the admin sees both projects' networks and every port, a
member only its own project; the page follows a change; the token stays out of every URL.
A screenshot of the admin's view is saved in the test's tmp dir and copied to SCREENSHOT_DIR."""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import pytest

from ovnet.apiclient import ApiClient
from ovnet.cli.demo import member_tokens
from ovnet.host.agentclient import AgentClient
from ovnet.testbed import seed
from tests.helpers.browser import chromium, require_chromium
from tests.helpers.allinone import running_allinone

pytestmark = [pytest.mark.root, pytest.mark.ovn, pytest.mark.browser]
SCREENSHOT_DIR = Path(os.environ.get("OVNET_SCREENSHOT_DIR", "/tmp/ovnet-screenshots"))
OWNERS = {"docker": "compute:docker", "vm": "compute:qemu", "podman": "compute:cni", "netns": ""}


def build_seed(settings, tokens: dict[str, str], make_netns) -> dict[str, list[dict]]:
    """The seed's networks, subnets and one port per NIC, made with each project's token; the
    all-in-one's namespace workloads bound for real, the others marked bound to "hv2" (admin).
    Returns {project: [ports]}."""
    made: dict[str, list[dict]] = {}
    with ApiClient.from_settings(settings) as admin, AgentClient(settings.agent_socket) as agent:
        for project, networks in seed.NETWORKS.items():
            with ApiClient(settings.api_url, tokens[project]) as api:
                subnets = {}
                for name, cidr in networks.items():
                    net = api.create_network(name=name)
                    subnets[name] = (net["id"], api.create_subnet(network_id=net["id"], cidr=cidr, ip_version=4)["id"])
                for wl in (w for w in seed.WORKLOADS if w.project == project):
                    for nic in wl.nics:
                        net_id, subnet_id = subnets[nic.network]
                        port = api.create_port(network_id=net_id, name=f"{wl.name}-{nic.ifname}",
                                               device_owner=OWNERS[wl.kind], device_id=wl.name,
                                               fixed_ips=[{"subnet_id": subnet_id, "ip_address": nic.address}])
                        made.setdefault(project, []).append(port)
                        if wl.hypervisor == 0 and wl.kind == "netns":
                            agent.bind(port["id"], "veth", make_netns(), ifname=nic.ifname)
                        else:
                            admin.update_port(port["id"], **{"binding:host_id": "hv2"})
    return made


def add_router_and_floating_ip(settings, tokens: dict[str, str], ports: list[dict]) -> None:
    """The public network (admin), and each project's router on it with interfaces in both its
    networks (its own token), as the demo has them; a floating IP for tenant-a's first port."""
    with ApiClient.from_settings(settings) as admin:
        public = admin.create_network(name="public", **{"router:external": True, "provider:network_type": "flat",
                                                        "provider:physical_network": "public"})
        admin.create_subnet(network_id=public["id"], cidr="10.50.50.0/24", ip_version=4, enable_dhcp=False)
    for project in ("tenant-a", "tenant-b"):
        with ApiClient(settings.api_url, tokens[project]) as api:
            router = api.create("router", "routers", {"name": f"router-{project[-1]}",
                                                      "external_gateway_info": {"network_id": public["id"]}})
            for subnet in (s for s in api.list_subnets() if s["network_id"] != public["id"]):
                api.request("PUT", f"/v2.0/routers/{router['id']}/add_router_interface",
                            json={"subnet_id": subnet["id"]})
    with ApiClient(settings.api_url, tokens["tenant-a"]) as api:
        api.create("floatingip", "floatingips", {"floating_network_id": public["id"], "port_id": ports[0]["id"]})


def wait_page(driver, check, timeout: float = 30.0):
    """Poll ``check(driver)`` until it returns something truthy; returns it (or fails)."""
    deadline = time.monotonic() + timeout
    while True:
        found = check(driver)
        if found or time.monotonic() > deadline:
            assert found, f"page never got there; status line: {_text(driver, 'status')}"
            return found
        time.sleep(0.3)


def _text(driver, element_id: str) -> str:
    from selenium.webdriver.common.by import By

    return driver.find_element(By.ID, element_id).text


def sign_in(driver, token: str) -> None:
    from selenium.webdriver.common.by import By

    driver.find_element(By.ID, "token").send_keys(token)
    driver.find_element(By.CSS_SELECTOR, "#login button[type=submit]").click()


def counts(driver) -> dict[str, int]:
    from selenium.webdriver.common.by import By

    element = driver.find_element(By.ID, "counts")
    return {k: int(element.get_attribute(f"data-{k}") or -1) for k in ("networks", "ports", "routers", "floatingips")}


def listed_networks(driver) -> list[tuple[str, str, int]]:
    """(network id, project id, ports) of each network in the page's side list."""
    from selenium.webdriver.common.by import By

    return [(li.get_attribute("data-network-id"), li.get_attribute("data-project-id"), int(li.get_attribute("data-ports")))
            for li in driver.find_elements(By.CSS_SELECTOR, "#listing li[data-network-id]")]


def group_boxes(driver) -> list[dict]:
    """Each drawn group's box ({"id", "label", "x1", "y1", "x2", "y2"}, model coordinates), as the
    page publishes it on #graph for those who cannot read a canvas."""
    return json.loads(driver.find_element("id", "graph").get_attribute("data-groups"))


def intersect(a: dict, b: dict) -> bool:
    """Whether two boxes share any area (touching edges do not count)."""
    return a["x1"] < b["x2"] and b["x1"] < a["x2"] and a["y1"] < b["y2"] and b["y1"] < a["y2"]


def test_topology_page_shows_what_the_token_sees(tmp_path, make_netns):
    require_chromium()
    with running_allinone(tmp_path, agent_sync_interval=3600.0) as settings:
        tokens = member_tokens(settings)
        made = build_seed(settings, tokens, make_netns)
        add_router_and_floating_ip(settings, tokens, made["tenant-a"])
        with ApiClient.from_settings(settings) as admin:
            networks = {n["id"]: n for n in admin.list_networks()}
        admin_token = settings.admin_token_file.read_text().strip()
        with chromium(tmp_path) as driver:
            driver.get(f"{settings.api_url}/ui")
            sign_in(driver, admin_token)
            all_ports = sum(len(p) for p in made.values())
            wait_page(driver, lambda d: counts(d)["ports"] == all_ports)
            # Router interface, gateway and floating IP ports are drawn as the router's and the
            # floating IP's edges, not as ports.
            assert counts(driver) == {"networks": 5, "ports": all_ports, "routers": 2, "floatingips": 1}
            assert "(not served)" not in _text(driver, "counts")
            listed = listed_networks(driver)
            assert {n for n, _p, _c in listed} == set(networks)
            assert sum(c for _n, _p, c in listed) == all_ports
            drawn = json.loads(driver.find_element("id", "graph").get_attribute("data-drawn"))
            assert drawn == {"router": 2, "network": 5, "port": all_ports, "fip": 1, "interface": 4, "gateway": 2,
                             "nat": 1, "pool": 1, "attach": all_ports}
            assert "tenant-a" in _text(driver, "listing") and "tenant-b" in _text(driver, "listing")
            bound_here = sum(w.hypervisor == 0 and w.kind == "netns" for w in seed.WORKLOADS for _ in w.nics)
            wait_page(driver, lambda d: f"{bound_here} active" in _text(d, "counts"))
            assert driver.execute_script("return document.querySelectorAll('#graph canvas').length") > 0
            loaded = driver.execute_script("return window.ovnetTopology.ports.length")
            assert loaded == all_ports + 7  # and the routers' 4 interfaces, 2 gateways, the floating IP's port
            time.sleep(1.0)  # let the layout settle before the picture
            # One box per project, none over another (tenant-b's router, pulled towards the admin's
            # public network, stretched its box over tenant-a's).
            boxes = group_boxes(driver)
            assert len(boxes) == 3, boxes
            for i, one in enumerate(boxes):
                for other in boxes[i + 1:]:
                    assert not intersect(one, other), (one, other)
            shot = tmp_path / "topology-admin.png"
            driver.save_screenshot(str(shot))
            SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
            shutil.copy(shot, SCREENSHOT_DIR / shot.name)
            print(f"screenshot: {shot} and {SCREENSHOT_DIR / shot.name}")

            from selenium.webdriver.support.ui import Select

            Select(driver.find_element("id", "group")).select_by_value("host")
            time.sleep(0.5)
            driver.save_screenshot(str(tmp_path / "topology-by-host.png"))
            shutil.copy(tmp_path / "topology-by-host.png", SCREENSHOT_DIR / "topology-by-host.png")
            assert counts(driver)["ports"] == all_ports

            # The page follows changes: a new port appears at the next poll.
            with ApiClient(settings.api_url, tokens["tenant-a"]) as api:
                net1 = next(n for n in api.list_networks() if n["name"] == "net1")
                api.create_port(network_id=net1["id"], name="late")
            wait_page(driver, lambda d: counts(d)["ports"] == all_ports + 1)

            # The token lives in the tab's session storage, never in a URL.
            assert admin_token not in driver.current_url
            assert driver.execute_script("return sessionStorage.getItem('ovnet.token')") == admin_token

            # A member of tenant-a sees only tenant-a.
            driver.find_element("id", "signout").click()
            sign_in(driver, tokens["tenant-a"])
            a_ports = len(made["tenant-a"]) + 1
            wait_page(driver, lambda d: counts(d)["ports"] == a_ports)
            a_project = made["tenant-a"][0]["project_id"]
            with ApiClient(settings.api_url, tokens["tenant-a"]) as api:
                seen_by_a = api.list_networks()
            assert counts(driver)["networks"] == len(seen_by_a) and counts(driver)["routers"] == 1
            assert {p for _n, p, _c in listed_networks(driver)} == {n["project_id"] for n in seen_by_a}
            assert {n["project_id"] for n in seen_by_a if not n["router:external"]} == {a_project}
            assert driver.execute_script("return window.ovnetTopology.ports.filter(p => !p.device_owner.startsWith("
                                         "'network:')).every(p => p.project_id === arguments[0])", a_project)
            assert tokens["tenant-a"] not in driver.current_url
            # Its own project by name (it may read it), the admin's public network's by id (it may not).
            wait_page(driver, lambda d: _text(d, "scope") == "member: tenant-a")
            assert "tenant-a" in _text(driver, "listing") and f"project {a_project[:8]}" not in _text(driver, "listing")
            public_owner = next(n["project_id"] for n in seen_by_a if n["router:external"])
            assert f"project {public_owner[:8]}" in _text(driver, "listing")
            Select(driver.find_element("id", "group")).select_by_value("project")
            labels = wait_page(driver, lambda d: sorted(b["label"] for b in group_boxes(d)))
            assert labels == sorted([f"project {public_owner[:8]}", "tenant-a"])
            driver.save_screenshot(str(tmp_path / "topology-member.png"))
            shutil.copy(tmp_path / "topology-member.png", SCREENSHOT_DIR / "topology-member.png")

            # A token the API refuses sends the user back to the form, with the reason.
            driver.find_element("id", "signout").click()
            sign_in(driver, "not-a-token")
            wait_page(driver, lambda d: "does not accept" in _text(d, "login-error"))
