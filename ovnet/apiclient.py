"""A small HTTP client of ovnet's Neutron v2.0 API (used by the CLI, the host agent, the demo).

It imports nothing of ovnet but ``ovnet.config``, so a host-side process never touches the store.
Errors come back as ApiError carrying the NeutronError ``type`` (e.g. "IpAddressAlreadyAllocated"),
or for the Keystone v3 project lookup the Keystone error ``title`` (e.g. "Forbidden").
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import quote

import httpx
import yaml

from ovnet.config import Settings

CLOUD_NAME = "ovnet"
DEFAULT_TIMEOUT_S = 30.0


class ApiError(Exception):
    """A non-2xx answer: HTTP ``status``, NeutronError ``type`` and ``message``."""

    def __init__(self, status: int, type: str, message: str):
        super().__init__(f"{status} {type}: {message}")
        self.status, self.type, self.message = status, type, message


class JsonClient:
    """An HTTP client whose server answers errors in NeutronError JSON (or, under /v3, Keystone's
    error JSON): the API, and the host agent on its unix socket. Owns ``http`` (an httpx.Client)."""

    def __init__(self, http: httpx.Client):
        self.http = http

    def close(self) -> None:
        """Close the connection pool."""
        self.http.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def call(self, method: str, path: str, **kwargs) -> dict | None:
        """Send one request (``kwargs`` as httpx's ``request``); the decoded JSON answer, or None
        for an empty one. Raises ApiError for any status >= 400, httpx.HTTPError when unreachable."""
        response = self.http.request(method, path, **kwargs)
        if response.status_code >= 400:
            try:
                body = response.json()
                if "error" in body:  # Keystone's format, under /v3
                    err = body["error"]
                    raise ApiError(response.status_code, err["title"], err["message"])
                err = body["NeutronError"]
                raise ApiError(response.status_code, err["type"], err["message"])
            except (ValueError, KeyError, TypeError):
                raise ApiError(response.status_code, "HTTPError", response.text) from None
        return response.json() if response.content else None


class ApiClient(JsonClient):
    """Neutron v2.0 client for ``base_url`` (e.g. "http://127.0.0.1:9696") with ``token``.

    Resource methods take and return Neutron-shaped dicts (the inner object, not the wrapper).
    ``list_*`` accept filters as keyword arguments; a list value repeats the key (OR).
    """

    def __init__(self, base_url: str, token: str, timeout_s: float = DEFAULT_TIMEOUT_S,
                 transport: httpx.BaseTransport | None = None):
        self.base_url = base_url.rstrip("/")
        super().__init__(httpx.Client(base_url=self.base_url + "/v2.0", timeout=timeout_s,
                                      headers={"X-Auth-Token": token}, transport=transport))

    @classmethod
    def from_settings(cls, settings: Settings) -> ApiClient:
        """A client of the local API with the admin token of ``settings.state_dir``."""
        return cls(settings.api_url, (settings.state_dir / "admin-token").read_text().strip())

    def __enter__(self) -> ApiClient:
        return self

    # -- generic -------------------------------------------------------------------------------
    def create(self, singular: str, plural: str, body: dict) -> dict:
        return self.call("POST", f"/{plural}", json={singular: body})[singular]

    def create_bulk(self, singular: str, plural: str, bodies: list[dict]) -> list[dict]:
        return self.call("POST", f"/{plural}", json={plural: bodies})[plural]

    def show(self, singular: str, plural: str, resource_id: str) -> dict:
        return self.call("GET", f"/{plural}/{resource_id}")[singular]

    def update(self, singular: str, plural: str, resource_id: str, changes: dict) -> dict:
        return self.call("PUT", f"/{plural}/{resource_id}", json={singular: changes})[singular]

    def delete(self, plural: str, resource_id: str) -> None:
        self.call("DELETE", f"/{plural}/{resource_id}")

    def add_tag(self, plural: str, resource_id: str, tag: str) -> None:
        """Add one tag (Neutron tag extension: PUT /{plural}/{id}/tags/{tag}); present is fine."""
        self.call("PUT", f"/{plural}/{resource_id}/tags/{tag}")

    def remove_tag(self, plural: str, resource_id: str, tag: str) -> None:
        """Remove one tag (DELETE /{plural}/{id}/tags/{tag}); ApiError 404 when absent."""
        self.call("DELETE", f"/{plural}/{resource_id}/tags/{tag}")

    def list(self, plural: str, **filters: object) -> list[dict]:
        """All matching resources, following ``*_links`` "next" pages."""
        params = [(k, str(v)) for k, vs in filters.items() for v in (vs if isinstance(vs, list | tuple) else [vs])]
        items: list[dict] = []
        page = self.call("GET", f"/{plural}", params=params)
        while True:
            items.extend(page[plural])
            nxt = [link["href"] for link in page.get(f"{plural}_links", []) if link["rel"] == "next"]
            if not nxt:
                return items
            page = self.call("GET", nxt[0])

    def find_project(self, name_or_id: str) -> dict | None:
        """The project with id ``name_or_id``, else the one called so (Keystone v3 ``{"id", "name",
        "domain_id", "enabled", ...}``), or None when neither exists. Needs an admin token (else
        ApiError 403), like Keystone's GET /v3/projects."""
        try:
            return self.call("GET", f"{self.base_url}/v3/projects/{quote(name_or_id, safe='')}")["project"]
        except ApiError as exc:
            if exc.status != 404:
                raise
        found = self.call("GET", f"{self.base_url}/v3/projects", params={"name": name_or_id})["projects"]
        return found[0] if found else None

    # -- per resource ----------------------------------------------------------------------------
    def create_network(self, **attrs: object) -> dict:
        return self.create("network", "networks", attrs)

    def create_subnet(self, **attrs: object) -> dict:
        return self.create("subnet", "subnets", attrs)

    def create_port(self, **attrs: object) -> dict:
        return self.create("port", "ports", attrs)

    def show_network(self, network_id: str) -> dict:
        return self.show("network", "networks", network_id)

    def show_subnet(self, subnet_id: str) -> dict:
        return self.show("subnet", "subnets", subnet_id)

    def show_port(self, port_id: str) -> dict:
        return self.show("port", "ports", port_id)

    def update_network(self, network_id: str, **changes: object) -> dict:
        return self.update("network", "networks", network_id, changes)

    def update_subnet(self, subnet_id: str, **changes: object) -> dict:
        return self.update("subnet", "subnets", subnet_id, changes)

    def update_port(self, port_id: str, **changes: object) -> dict:
        return self.update("port", "ports", port_id, changes)

    def bind_port_host(self, port_id: str, host: str) -> dict:
        """Bind ``port_id`` to chassis ``host`` in one round-trip (ovnet's ``PUT
        /v2.0/ports/{id}/bind_host``, admin only): {"port", "network", "subnets", "changed"},
        ``changed`` False when it was bound there already. ApiError 409 PortBindingConflict when
        bound to another host, 404 when the port does not exist."""
        return self.call("PUT", f"/ports/{port_id}/bind_host", json={"host": host})

    def delete_network(self, network_id: str) -> None:
        self.delete("networks", network_id)

    def delete_subnet(self, subnet_id: str) -> None:
        self.delete("subnets", subnet_id)

    def delete_port(self, port_id: str) -> None:
        self.delete("ports", port_id)

    def list_networks(self, **filters: object) -> list[dict]:
        return self.list("networks", **filters)

    def list_subnets(self, **filters: object) -> list[dict]:
        return self.list("subnets", **filters)

    def list_ports(self, **filters: object) -> list[dict]:
        return self.list("ports", **filters)


def cloud_entry(api_url: str, token: str) -> dict:
    """A clouds.yaml cloud for ``openstack --os-cloud``: admin_token auth against ``api_url``."""
    return {"auth_type": "admin_token", "auth": {"endpoint": api_url, "token": token}}


def write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` with mode 0600 from the first byte (atomic rename)."""
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(text)
    os.chmod(tmp, 0o600)
    tmp.replace(path)


def write_clouds_yaml(path: Path, clouds: dict[str, dict]) -> None:
    """Write ``{"clouds": clouds}`` as a 0600 clouds.yaml at ``path``."""
    write_private(path, yaml.safe_dump({"clouds": clouds}, default_flow_style=False))
