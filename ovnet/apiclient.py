"""A small HTTP client of ovnet's Neutron v2.0 API (used by the CLI, the host agent, the demo).

It imports nothing of ovnet but ``ovnet.config``, so a host-side process never touches the store.
Errors come back as ApiError carrying the NeutronError ``type`` (e.g. "IpAddressAlreadyAllocated"),
or for the Keystone v3 project lookup the Keystone error ``title`` (e.g. "Forbidden").
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import quote, urlsplit

import httpx
import yaml

from ovnet.config import Settings
from ovnet.credentials import check_token
from ovnet.tls import client_context

CLOUD_NAME = "ovnet"
DEFAULT_TIMEOUT_S = 30.0
# Sent with a write whose answer need not wait for NB to confirm it (ovnet.api.routes.waits_for_nb).
NOWAIT = {"X-Ovnet-Sync": "nowait"}


def is_uuid(value: str) -> bool:
    """True when ``value`` is written as a UUID, as the API's ids are (a name is looked up)."""
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


class ApiError(Exception):
    """A non-2xx answer: HTTP ``status``, NeutronError ``type`` and ``message``."""

    def __init__(self, status: int, type: str, message: str):
        super().__init__(f"{status} {type}: {message}")
        self.status, self.type, self.message = status, type, message


def decode(response: httpx.Response) -> dict | None:
    """The JSON body of a 2xx ``response`` (None when empty); ApiError for any other status, from a
    NeutronError body, a Keystone ``{"error"}`` body (under /v3) or, failing both, the raw text.
    Shared by every client of an ovnet HTTP service (API server, host agent)."""
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


def unreachable(endpoints: Sequence[str], exc: httpx.TransportError) -> str:
    """The one-line error every ``ovnet`` command prints when no API server at ``endpoints`` (base
    URLs) answered with ``exc``: it names them and says ovnet may not be up."""
    return f"no API server reachable at {', '.join(endpoints)} ({exc}); is ovnet up?"


class ApiClient:
    """Neutron v2.0 client of the API servers at ``base_urls`` (one URL or several, each a server
    root such as "http://127.0.0.1:9696") with ``token``.

    With several URLs a request that cannot connect to the current server (connection refused,
    unreachable, connect timeout: the request never left, so even a POST is safe to resend) goes
    to the next one, which then stays current; when none connects the last httpx.ConnectError or
    ConnectTimeout is raised. Resource methods take and return Neutron-shaped dicts (the inner
    object, not the wrapper). ``list_*`` accept filters as keyword arguments; a list value repeats
    the key (OR). ``wait=False`` on a create or delete takes the answer before NB confirms the
    write (the syncer applies it all the same, soon after). Raises TokenError (credentials) for a
    token that cannot be a header.
    """

    def __init__(self, base_urls: str | Sequence[str], token: str, timeout_s: float = DEFAULT_TIMEOUT_S,
                 transport: httpx.BaseTransport | None = None):
        urls = [base_urls] if isinstance(base_urls, str) else list(base_urls)
        if not urls:
            raise ValueError("ApiClient needs at least one API URL")
        self.base_urls = [url.rstrip("/") for url in urls]
        self.http = httpx.Client(base_url=self.base_urls[0], timeout=timeout_s,
                                 headers={"X-Auth-Token": check_token(token)}, transport=transport, verify=client_context())

    @property
    def base_url(self) -> str:
        """The API server requests go to now."""
        return self.base_urls[0]

    @classmethod
    def from_settings(cls, settings: Settings) -> ApiClient:
        """A client of ``settings.api_endpoints`` with the admin token of ``settings.state_dir``."""
        return cls(settings.api_endpoints, settings.admin_token_file.read_text().strip())

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> ApiClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- generic -------------------------------------------------------------------------------
    def request(self, method: str, path: str, **kwargs) -> dict | None:
        """``method`` on ``path`` (from the server root, e.g. "/v2.0/networks"; an absolute URL
        keeps only its path and query, so a "next" link works on whichever server is current);
        returns the decoded body (see decode), failing over as the class says."""
        parts = urlsplit(path)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        for attempt in range(len(self.base_urls)):
            try:
                return decode(self.http.request(method, path, **kwargs))
            except (httpx.ConnectError, httpx.ConnectTimeout):
                if attempt == len(self.base_urls) - 1:
                    raise
                self.base_urls.append(self.base_urls.pop(0))
                self.http.base_url = self.base_urls[0]
        raise AssertionError("unreachable")

    def _call(self, method: str, path: str, **kwargs) -> dict | None:
        return self.request(method, f"/v2.0{path}", **kwargs)

    def create(self, singular: str, plural: str, body: dict, wait: bool = True) -> dict:
        return self._call("POST", f"/{plural}", json={singular: body}, headers=None if wait else NOWAIT)[singular]

    def create_bulk(self, singular: str, plural: str, bodies: list[dict]) -> list[dict]:
        return self._call("POST", f"/{plural}", json={plural: bodies})[plural]

    def show(self, singular: str, plural: str, resource_id: str) -> dict:
        return self._call("GET", f"/{plural}/{resource_id}")[singular]

    def update(self, singular: str, plural: str, resource_id: str, changes: dict) -> dict:
        return self._call("PUT", f"/{plural}/{resource_id}", json={singular: changes})[singular]

    def delete(self, plural: str, resource_id: str, wait: bool = True, if_revision: int | None = None) -> None:
        """Delete one resource; with ``if_revision`` only while its revision_number is still that
        (``If-Match: revision_number=N``, extension revision-if-match: ApiError 412 otherwise)."""
        headers = {} if wait else dict(NOWAIT)
        if if_revision is not None:
            headers["If-Match"] = f"revision_number={if_revision}"
        self._call("DELETE", f"/{plural}/{resource_id}", headers=headers or None)

    def add_tag(self, plural: str, resource_id: str, tag: str) -> None:
        """Add one tag (Neutron tag extension: PUT /{plural}/{id}/tags/{tag}); present is fine."""
        self._call("PUT", f"/{plural}/{resource_id}/tags/{tag}")

    def remove_tag(self, plural: str, resource_id: str, tag: str) -> None:
        """Remove one tag (DELETE /{plural}/{id}/tags/{tag}); ApiError 404 when absent."""
        self._call("DELETE", f"/{plural}/{resource_id}/tags/{tag}")

    def list(self, plural: str, **filters: object) -> list[dict]:
        """All matching resources, following ``*_links`` "next" pages. ``plural`` as in the URL
        ("security-groups"); the body's key has "_" for "-", as Neutron's ("security_groups")."""
        params = [(k, str(v)) for k, vs in filters.items() for v in (vs if isinstance(vs, list | tuple) else [vs])]
        key = plural.replace("-", "_")
        items: list[dict] = []
        page = self._call("GET", f"/{plural}", params=params)
        while True:
            items.extend(page[key])
            nxt = [link["href"] for link in page.get(f"{key}_links", []) if link["rel"] == "next"]
            if not nxt:
                return items
            page = self.request("GET", nxt[0])

    def find_project(self, name_or_id: str) -> dict | None:
        """The project with id ``name_or_id``, else the one called so (Keystone v3 ``{"id", "name",
        "domain_id", "enabled", ...}``), or None when neither exists. Needs an admin token (else
        ApiError 403), like Keystone's GET /v3/projects."""
        try:
            return self.request("GET", f"/v3/projects/{quote(name_or_id, safe='')}")["project"]
        except ApiError as exc:
            if exc.status != 404:
                raise
        found = self.request("GET", "/v3/projects", params={"name": name_or_id})["projects"]
        return found[0] if found else None

    def create_project(self, name: str) -> dict:
        """Create project ``name`` (Keystone v3 POST /v3/projects); returns the Keystone project.
        ApiError 409 when the name is taken, 400 when it is invalid, 403 without an admin token."""
        return self.request("POST", "/v3/projects", json={"project": {"name": name}})["project"]

    def issue_token(self, project_id: str, expires_in_s: float | None = None) -> str:
        """A new member token of project ``project_id`` (POST /v3/OS-OVNET/projects/{id}/tokens),
        valid ``expires_in_s`` seconds (None: until revoked); older ones stay valid. ApiError 404
        for an unknown project, 403 without an admin token."""
        path = f"/v3/OS-OVNET/projects/{quote(project_id, safe='')}/tokens"
        body = {"json": {"token": {"expires_in": expires_in_s}}} if expires_in_s is not None else {}
        return self.request("POST", path, **body)["token"]["secret"]

    def revoke_tokens(self, project_id: str, token: str | None = None) -> int:
        """Revoke ``token`` of project ``project_id`` (None: all its tokens); how many went
        (DELETE /v3/OS-OVNET/projects/{id}/tokens). ApiError 404 when ``token`` is not the
        project's, 403 without an admin token."""
        path = f"/v3/OS-OVNET/projects/{quote(project_id, safe='')}/tokens"
        headers = {"X-Subject-Token": token} if token is not None else {}
        return self.request("DELETE", path, headers=headers)["revoked"]

    def delete_project(self, project_id: str, cascade: bool = False) -> dict[str, int]:
        """Delete project ``project_id`` and revoke its tokens (DELETE /v3/projects/{id}); with
        ``cascade`` its resources go first. Returns what went ({plural: n}; {} without cascade).
        ApiError 409 (ProjectInUse) while it owns resources and ``cascade`` is false, or when a
        step of the cascade is refused; 404 for an unknown project, 403 without an admin token."""
        path = f"/v3/projects/{quote(project_id, safe='')}"
        done = self.request("DELETE", path, params={"cascade": "true"} if cascade else None)
        return done["deleted"] if done else {}

    def token_counts(self) -> dict[str, int]:
        """Project id -> how many tokens it holds (GET /v3/OS-OVNET/token_counts); admin only."""
        return self.request("GET", "/v3/OS-OVNET/token_counts")["token_counts"]

    def list_projects(self, name: str | None = None) -> list[dict]:
        """Every project, or the one called ``name`` (Keystone v3 GET /v3/projects[?name=]),
        ordered by name; admin only."""
        return self.request("GET", "/v3/projects", params={"name": name} if name is not None else None)["projects"]

    # -- per resource ----------------------------------------------------------------------------
    def create_network(self, **attrs: object) -> dict:
        return self.create("network", "networks", attrs)

    def create_subnet(self, **attrs: object) -> dict:
        return self.create("subnet", "subnets", attrs)

    def create_port(self, wait: bool = True, **attrs: object) -> dict:
        return self.create("port", "ports", attrs, wait)

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

    def bind_port_host(self, port_id: str, host: str, **attrs: object) -> dict:
        """Bind ``port_id`` to chassis ``host`` in one round-trip (ovnet's ``PUT
        /v2.0/ports/{id}/bind_host``, admin only), setting the port attributes ``attrs`` in the
        same write: {"port", "network", "subnets", "changed"}, ``changed`` False when nothing was
        written. ApiError 409 PortBindingConflict when bound to another host, 404 when the port
        does not exist. Unlike update_port it does not wait for NB to confirm."""
        body: dict = {"host": host, **({"port": attrs} if attrs else {})}
        return self._call("PUT", f"/ports/{port_id}/bind_host", json=body)

    def unbind_host(self, host: str) -> list[str]:
        """Clear ``binding:host_id`` of every port bound to chassis ``host`` (admin token; the API
        then drops their requested-chassis, so they go DOWN and may be bound elsewhere), as a
        removed host leaves them; returns their ids. Raises ApiError."""
        ports = self.list_ports(**{"binding:host_id": host})
        for port in ports:
            self.update_port(port["id"], **{"binding:host_id": ""})
        return [port["id"] for port in ports]

    def delete_network(self, network_id: str) -> None:
        self.delete("networks", network_id)

    def delete_subnet(self, subnet_id: str) -> None:
        self.delete("subnets", subnet_id)

    def delete_port(self, port_id: str, wait: bool = True, if_revision: int | None = None) -> None:
        self.delete("ports", port_id, wait, if_revision)

    def list_networks(self, **filters: object) -> list[dict]:
        return self.list("networks", **filters)

    def list_subnets(self, **filters: object) -> list[dict]:
        return self.list("subnets", **filters)

    def list_ports(self, **filters: object) -> list[dict]:
        return self.list("ports", **filters)


def cloud_entry(api_url: str, token: str) -> dict:
    """A clouds.yaml cloud for ``openstack --os-cloud``: Keystone v3 token auth against the /v3
    slice of ``api_url`` (ovnet.api.authtokens), whose answer carries a catalog of only the
    network and identity services, so the client knows Nova and Cinder are absent (``openstack
    quota show PROJECT`` then shows the network quotas instead of failing on Nova's)."""
    return {"auth_type": "v3token", "auth": {"auth_url": f"{api_url.rstrip('/')}/v3", "token": token},
            "identity_api_version": "3"}


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
