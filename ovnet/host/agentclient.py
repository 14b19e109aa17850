"""A client of one host agent's unix socket (the CLI, the demo and tests use it).

Errors come back as ovnet.apiclient.ApiError, since the agent answers in NeutronError JSON too.
"""

from __future__ import annotations

from pathlib import Path

import httpx

from ovnet.apiclient import decode
from ovnet.config import ADMIN_TOKEN_FILE
from ovnet.credentials import check_token
from ovnet.tls import client_context

# A bind waits up to settings.bind_timeout for ovn-installed; leave room above it.
DEFAULT_TIMEOUT_S = 120.0


def local_admin_token(socket: Path | str) -> str | None:
    """The installation's admin token for the agent on ``socket``: ``<state_dir>/admin-token``, the
    socket being ``Settings.agent_socket`` (``<state_dir>/run/agent.sock``); None when the
    file is missing or this user may not read it."""
    try:
        return (Path(socket).parent.parent / ADMIN_TOKEN_FILE).read_text().strip() or None
    except OSError:
        return None


class AgentClient:
    """Talks to the agent serving on ``socket`` (a path); ``token`` is the caller's API token, which
    decides whose ports may be bound. Without one the local admin token is sent when this user can
    read it (local_admin_token); with none at all the agent answers 401 to all but healthz. Raises
    TokenError (credentials) for a token that cannot be a header."""

    def __init__(self, socket: Path | str, token: str | None = None, timeout_s: float = DEFAULT_TIMEOUT_S):
        token = token or local_admin_token(socket)
        headers = {"X-Auth-Token": check_token(token)} if token else {}
        transport = httpx.HTTPTransport(uds=str(socket), verify=client_context())
        self.http = httpx.Client(base_url="http://agent", transport=transport,
                                 headers=headers, timeout=timeout_s)

    def close(self) -> None:
        """Close the connection pool."""
        self.http.close()

    def __enter__(self) -> AgentClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _call(self, method: str, path: str, **kwargs) -> dict | None:
        # The agent answers in NeutronError JSON like the API: the same decoding applies.
        return decode(self.http.request(method, path, **kwargs))

    def healthz(self) -> dict:
        """{"status": "ok", "chassis": NAME} when the agent serves."""
        return self._call("GET", "/healthz")

    def bind(self, port_id: str, kind: str, target: str, ifname: str = "eth0", owner: str | None = None) -> dict:
        """Bind ``port_id`` on that host as VIF ``kind`` "veth" (target = netns), "tap" or
        "internal" (target = device name). Returns {"port_id", "kind", "device", "ready_s", "stages"}
        (ovnet.host.attach.Attached says what the stages are)."""
        body = {"port_id": port_id, "kind": kind, "target": target, "ifname": ifname, "owner": owner}
        return self._call("POST", "/bindings", json=body)

    def unbind(self, port_id: str) -> None:
        """Unplug ``port_id`` on that host and clear its binding:host_id (no-op when not bound)."""
        self._call("DELETE", f"/bindings/{port_id}")

    def bindings(self) -> list[dict]:
        """Ports plugged on that host: [{"port_id", "kind", "device", "mac", "installed"}]."""
        return self._call("GET", "/bindings")["bindings"]

    def inventory(self) -> dict:
        """What that host holds (admin only): see ovnet.host.binding.Binder.inventory."""
        return self._call("GET", "/inventory")

    def reconcile(self) -> dict:
        """Run a reconcile now; returns {"removed", "replugged", "converged", "unbound"}: port ids
        (see ovnet.host.binding.ReconcileReport)."""
        return self._call("POST", "/reconcile")
