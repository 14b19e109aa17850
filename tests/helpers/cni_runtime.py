"""A small CNI runtime for tests (cni.md B.3 item 5): it runs a plugin executable the way libcni does
(CNI_* environment, the per-plugin request JSON on stdin built from a conflist, runtimeConfig
filtered by the plugin's capabilities, the cached ADD Result as prevResult of DEL and CHECK), and
can send what Debian's podman never sends: CHECK, STATUS and GC."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

PLUGIN = Path(__file__).resolve().parents[2] / "ovnet" / "cniplugin.py"


@dataclass
class Reply:
    """One plugin run: exit status and the JSON it printed (None when it printed nothing)."""

    rc: int
    out: dict | None
    stderr: str


@dataclass
class CniRuntime:
    """Runs ``plugin`` (an executable path) for the single-plugin ``conflist`` (a dict)."""

    conflist: dict
    plugin: Path = PLUGIN
    cache: dict = field(default_factory=dict)  # (container id, ifname) -> ADD Result

    def request(self, verb: str, runtime_config: dict | None = None, prev: dict | None = None,
                extra: dict | None = None) -> dict:
        """The request JSON for the conflist's first plugin (CNI spec 1.1.0 "Network configuration")."""
        plugin = dict(self.conflist["plugins"][0])
        req = {**plugin, "name": self.conflist["name"], "cniVersion": self.conflist["cniVersion"]}
        if verb in ("ADD", "DEL", "CHECK"):
            caps = plugin.get("capabilities") or {}
            rc = {k: v for k, v in (runtime_config or {}).items() if caps.get(k)}
            if rc:
                req["runtimeConfig"] = rc
        if prev is not None:
            req["prevResult"] = prev
        req.update(extra or {})
        return req

    def run(self, verb: str, container_id: str = "", netns: str = "", ifname: str = "eth0", args: str = "",
            stdin: dict | bytes | None = None, **request) -> Reply:
        """Run the plugin once; ``stdin`` overrides the request built by ``request(verb, ...)``."""
        body = stdin if stdin is not None else self.request(verb, **request)
        env = {**os.environ, "CNI_COMMAND": verb, "CNI_CONTAINERID": container_id, "CNI_NETNS": netns,
               "CNI_IFNAME": ifname, "CNI_ARGS": args, "CNI_PATH": str(self.plugin.parent)}
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        done = subprocess.run([sys.executable, "-I", "-S", str(self.plugin)], input=data, env=env,
                              capture_output=True, timeout=180)
        text = done.stdout.decode().strip()
        return Reply(done.returncode, json.loads(text) if text else None, done.stderr.decode())

    def add(self, container_id: str, netns: str, ifname: str = "eth0", **kwargs) -> dict:
        """ADD; the Result is cached as libcni does. AssertionError with the error object on failure."""
        reply = self.run("ADD", container_id, netns, ifname, **kwargs)
        assert reply.rc == 0, reply
        self.cache[(container_id, ifname)] = reply.out
        return reply.out

    def delete(self, container_id: str, netns: str = "", ifname: str = "eth0", **kwargs) -> Reply:
        """DEL with the cached Result as prevResult (none when the cache is lost)."""
        prev = self.cache.get((container_id, ifname))
        reply = self.run("DEL", container_id, netns, ifname, prev=prev, **kwargs)
        if reply.rc == 0:
            self.cache.pop((container_id, ifname), None)
        return reply

    def check(self, container_id: str, netns: str, ifname: str = "eth0", **kwargs) -> Reply:
        """CHECK with the cached Result as prevResult."""
        return self.run("CHECK", container_id, netns, ifname, prev=self.cache.get((container_id, ifname)), **kwargs)

    def gc(self, valid: list[tuple[str, str]]) -> Reply:
        """GC with ``valid`` (container id, ifname) pairs under both keys, as libcni >= 1.2 sends."""
        entries = [{"containerID": c, "ifname": i} for c, i in valid]
        return self.run("GC", extra={"cni.dev/valid-attachments": entries, "cni.dev/attachments": entries})

    def status(self) -> Reply:
        """STATUS (CNI 1.1)."""
        return self.run("STATUS")


def conflist(name: str, network: str, socket: Path | str, version: str = "1.0.0", **plugin_keys) -> dict:
    """A conflist with the one ovnet plugin, as ``ovnet cni install`` writes it."""
    plugin = {"type": "ovnet", "network": network, "agent_socket": str(socket),
              "capabilities": {"ips": True, "mac": True}, **plugin_keys}
    return {"cniVersion": version, "name": name, "plugins": [plugin]}
