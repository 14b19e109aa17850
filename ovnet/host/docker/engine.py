"""What dockerd itself knows, asked over its Engine API: the endpoints of our driver's networks.

Docker swallows failures of Leave/DeleteEndpoint/ReleaseAddress and forgets endpoints when it is
killed (libnetwork.md pitfalls 2 and 17), so the plugin garbage-collects ports whose endpoint
dockerd no longer has. Only an answer from dockerd counts: when it cannot be reached, nothing is
collected.
"""

from __future__ import annotations

import json

import httpx

from ovnet.tls import client_context

API_VERSION = "v1.41"  # dockerd 20.10; newer engines still serve it


class EngineUnavailable(Exception):
    """dockerd did not answer (not running, restarting, wrong socket)."""


class Engine:
    """A client of one dockerd's Engine API at ``docker_host`` (``unix:///path/docker.sock``)."""

    def __init__(self, docker_host: str, timeout: float = 5.0):
        if not docker_host.startswith("unix://"):
            raise ValueError(f"only unix:// Docker hosts are supported, not {docker_host!r}")
        transport = httpx.HTTPTransport(uds=docker_host[len("unix://"):], verify=client_context())
        self.http = httpx.Client(transport=transport, base_url=f"http://docker/{API_VERSION}", timeout=timeout)

    def close(self) -> None:
        self.http.close()

    def _get(self, path: str, **params: str):
        try:
            answer = self.http.get(path, params=params)
            answer.raise_for_status()
            return answer.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise EngineUnavailable(f"dockerd: GET {path}: {exc}") from None

    def endpoints(self, driver: str) -> dict[str, set[str]]:
        """NetworkID -> EndpointIDs of the containers attached, for every network of ``driver``;
        raises EngineUnavailable."""
        found: dict[str, set[str]] = {}
        for summary in self._get("/networks", filters=json.dumps({"driver": [driver]})):
            detail = self._get(f"/networks/{summary['Id']}")
            found[summary["Id"]] = {attached["EndpointID"] for attached in (detail.get("Containers") or {}).values()
                                    if attached.get("EndpointID")}
        return found
